package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// newPool makes a pool for one test and closes it when the test ends.
// Outside CI the test skips without a browser; in CI it must run.
func newPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	p, err := New(cfg)
	if errors.Is(err, ErrNoBrowser) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but no browser was found: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// serve starts a local test server on 127.0.0.1.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func html(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, body)
}

func render(t testing.TB, p *Pool, req Request) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	res, err := p.Render(ctx, req)
	if err != nil {
		t.Fatalf("Render(%s): %v", req.URL, err)
	}
	return res
}

// TestRender runs the checks that need no special configuration on one
// shared pool, to start the browser once.
func TestRender(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxHTML: sharedMaxHTML})
	t.Run("InlineScript", func(t *testing.T) { testRenderRunsInlineScript(t, p) })
	t.Run("UserAgentAndReferer", func(t *testing.T) { testRenderSendsUserAgentAndReferer(t, p) })
	t.Run("Screenshot", func(t *testing.T) { testRenderScreenshot(t, p) })
	t.Run("JavaScriptRedirect", func(t *testing.T) { testRenderFollowsJavaScriptRedirect(t, p) })
	t.Run("RejectsNonHTTP", func(t *testing.T) { testRenderRejectsNonHTTP(t, p) })
	t.Run("StatusAndTruncation", func(t *testing.T) { testRenderStatusAndTruncation(t, p) })
	if st := p.Stats(); st.Renders != 6 || st.Failures != 0 || st.Starts != 1 || st.Restarts != 0 {
		t.Errorf("Stats = %+v, want 6 renders by one browser", st)
	}
}

// sharedMaxHTML is the MaxHTML of the pool of TestRender: larger than its
// pages but for the one that tests truncation.
const sharedMaxHTML = 4096

const injectPage = `<!doctype html><html><head><title>Cổng thông tin</title></head><body>
<p>Trang chủ</p>
<script>
(function(){
  var d = document.createElement('div');
  d.style.display = 'none';
  d.id = 'seo';
  d.innerHTML = '<a href="https://' + 'nha' + 'cai' + '88.example/">' + 'nha ' + 'cai' + '</a> <a href="https://' + 'slot' + 'vip.example/">' + 'slot ' + 'game' + '</a>';
  document.body.appendChild(d);
})();
</script></body></html>`

func testRenderRunsInlineScript(t *testing.T, p *Pool) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, injectPage) }))
	if strings.Contains(injectPage, "nhacai88.example") {
		t.Fatal("the raw page must not contain the injected link")
	}
	res := render(t, p, Request{URL: s.URL + "/", UserAgent: "canhgac-test", Referer: "https://ref.example/"})
	for _, want := range []string{`href="https://nhacai88.example/"`, `href="https://slotvip.example/"`, `id="seo"`, "Trang chủ", "<!DOCTYPE html>"} {
		if !bytes.Contains(res.HTML, []byte(want)) {
			t.Errorf("rendered HTML lacks %q:\n%s", want, res.HTML)
		}
	}
	if res.Status != 200 {
		t.Errorf("Status = %d, want 200", res.Status)
	}
	if res.FinalURL != s.URL+"/" {
		t.Errorf("FinalURL = %q, want %q", res.FinalURL, s.URL+"/")
	}
	if res.Screenshot != nil {
		t.Error("a screenshot was taken without being asked for")
	}
}

func testRenderSendsUserAgentAndReferer(t *testing.T, p *Pool) {
	var ua, ref atomic.Value
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			ua.Store(r.UserAgent())
			ref.Store(r.Referer())
		}
		html(w, "<p>ok</p>")
	}))
	render(t, p, Request{URL: s.URL + "/", UserAgent: "canhgac-monitor/1.0", Referer: "http://ref.example/page"})
	if got := ua.Load(); got != "canhgac-monitor/1.0" {
		t.Errorf("User-Agent = %v", got)
	}
	// Chromium's default policy strips a cross-origin referrer to its origin.
	if got, _ := ref.Load().(string); !strings.HasPrefix(got, "http://ref.example/") {
		t.Errorf("Referer = %q", got)
	}
}

func testRenderStatusAndTruncation(t *testing.T, p *Pool) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<p>"+strings.Repeat("ữ", 3000)+"</p>")
	}))
	res := render(t, p, Request{URL: s.URL + "/missing"})
	if res.Status != 404 {
		t.Errorf("Status = %d, want 404", res.Status)
	}
	if !res.Truncated || len(res.HTML) > sharedMaxHTML || len(res.HTML) < sharedMaxHTML-3 {
		t.Errorf("Truncated = %v, len = %d", res.Truncated, len(res.HTML))
	}
	if !bytes.Contains(res.HTML, []byte("ữ")) || !bytes.HasPrefix(res.HTML, []byte("<html")) {
		t.Errorf("HTML = %q", res.HTML)
	}
	for i := 0; i < len(res.HTML); {
		r, n := utf8.DecodeRune(res.HTML[i:])
		if r == 0xFFFD {
			t.Fatalf("truncation split a rune: %q", res.HTML)
		}
		i += n
	}
}

func testRenderScreenshot(t *testing.T, p *Pool) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<body style="background:#c00"><h1>HACKED BY X</h1></body>`)
	}))
	res := render(t, p, Request{URL: s.URL + "/", Screenshot: true})
	img, err := png.Decode(bytes.NewReader(res.Screenshot))
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != DefaultWidth || b.Dy() != DefaultHeight {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), DefaultWidth, DefaultHeight)
	}
	r, g, b, _ := img.At(400, 500).RGBA()
	if r>>8 < 0xb0 || g>>8 > 0x20 || b>>8 > 0x20 {
		t.Errorf("pixel = %d,%d,%d, want the red background", r>>8, g>>8, b>>8)
	}
}

func testRenderFollowsJavaScriptRedirect(t *testing.T, p *Pool) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			html(w, `<p>first</p><script>location.href = '/second';</script>`)
		case "/second":
			html(w, `<p>second page</p>`)
		default:
			http.NotFound(w, r)
		}
	}))
	res := render(t, p, Request{URL: s.URL + "/"})
	if res.FinalURL != s.URL+"/second" {
		t.Errorf("FinalURL = %q, want %q", res.FinalURL, s.URL+"/second")
	}
	if !bytes.Contains(res.HTML, []byte("second page")) {
		t.Errorf("HTML is not the second page: %s", res.HTML)
	}

	// A redirect that runs after the load event too.
	s2 := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			html(w, `<p>first</p><script>addEventListener('load', () => setTimeout(() => { location.replace('/late'); }, 100));</script>`)
		case "/late":
			html(w, `<p>late page</p>`)
		}
	}))
	res = render(t, p, Request{URL: s2.URL + "/"})
	if res.FinalURL != s2.URL+"/late" || !bytes.Contains(res.HTML, []byte("late page")) {
		t.Errorf("FinalURL = %q, HTML = %s", res.FinalURL, res.HTML)
	}
}

func TestAllowBlocksOtherHosts(t *testing.T) {
	t.Parallel()
	var evil atomic.Int64
	evilSrv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evil.Add(1)
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, `document.body.insertAdjacentHTML('beforeend', '<p id="evil">loaded</p>');`)
	}))
	// "localhost" names the evil server; 127.0.0.1 the monitored page.
	evilURL := strings.Replace(evilSrv.URL, "127.0.0.1", "localhost", 1)
	page := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<p>page</p><script src="`+evilURL+`/x.js"></script>
<img src="`+evilURL+`/x.png">
<script>fetch('`+evilURL+`/xhr').catch(() => {}); try { new WebSocket('ws://localhost:1/'); } catch (e) {}</script>
<iframe src="`+evilURL+`/frame"></iframe>`)
	}))

	var mu sync.Mutex
	var seen []string
	var open atomic.Bool // the control run below allows every host
	p := newPool(t, Config{Allow: func(host string) bool {
		mu.Lock()
		seen = append(seen, host)
		mu.Unlock()
		return open.Load() || host == "127.0.0.1"
	}})
	res := render(t, p, Request{URL: page.URL + "/"})
	if n := evil.Load(); n != 0 {
		t.Errorf("the blocked host got %d requests", n)
	}
	if bytes.Contains(res.HTML, []byte(`id="evil"`)) {
		t.Error("the blocked script ran")
	}
	if !bytes.Contains(res.HTML, []byte("<p>page</p>")) {
		t.Errorf("HTML = %s", res.HTML)
	}
	mu.Lock()
	if !strings.Contains(strings.Join(seen, " "), "localhost") {
		t.Errorf("Allow never saw the blocked host: %v", seen)
	}
	mu.Unlock()

	// When Allow accepts the host, the same page loads the script: the
	// test above is meaningful.
	open.Store(true)
	res = render(t, p, Request{URL: page.URL + "/"})
	open.Store(false)
	if evil.Load() == 0 || !bytes.Contains(res.HTML, []byte(`id="evil"`)) {
		t.Errorf("without Allow the script did not load (%d requests)", evil.Load())
	}

	// A URL whose own host is rejected is refused before the browser.
	_, err := p.Render(context.Background(), Request{URL: evilURL + "/"})
	if !errors.Is(err, ErrNotAllowed) {
		t.Errorf("Render of a rejected host: %v", err)
	}
}

func TestTabsBoundConcurrency(t *testing.T) {
	t.Parallel()
	var inFlight, maxInFlight, total atomic.Int64
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		total.Add(1)
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		// Hold the document open briefly so overlapping renders would
		// overlap here; the assertion is a count, not a time.
		time.Sleep(150 * time.Millisecond)
		inFlight.Add(-1)
		html(w, "<p>ok</p>")
	}))
	p := newPool(t, Config{Tabs: 2, Settle: 100 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			_, err := p.Render(ctx, Request{URL: s.URL + "/"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if m := maxInFlight.Load(); m > 2 || m < 1 {
		t.Errorf("max in-flight documents = %d, want 1..2", m)
	}
	if total.Load() != 5 {
		t.Errorf("document requests = %d, want 5", total.Load())
	}
}

func TestRecycle(t *testing.T) {
	t.Parallel()
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "<p>ok</p>") }))
	p := newPool(t, Config{RecycleAfter: 2, Settle: 100 * time.Millisecond})
	for i := range 5 {
		res := render(t, p, Request{URL: fmt.Sprintf("%s/?i=%d", s.URL, i)})
		if !bytes.Contains(res.HTML, []byte("<p>ok</p>")) {
			t.Fatalf("render %d: %s", i, res.HTML)
		}
	}
	st := p.Stats()
	if st.Restarts < 2 || st.Renders != 5 || st.Failures != 0 || st.Starts != 3 {
		t.Errorf("Stats = %+v, want 3 starts, >= 2 restarts and 5 renders", st)
	}
}

// TestRestartAndClose kills the browser behind the pool's back, checks
// that the next Render starts a new one, then that Close cleans up.
func TestRestartAndClose(t *testing.T) {
	t.Parallel()
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "<p>ok</p>") }))
	p := newPool(t, Config{Settle: 100 * time.Millisecond})
	render(t, p, Request{URL: s.URL + "/"})
	p.mu.Lock()
	inst := p.cur
	p.mu.Unlock()
	killLeftovers(inst.dir)
	deadline := time.Now().Add(10 * time.Second)
	for inst.bctx.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the pool did not notice the dead browser")
		}
		time.Sleep(20 * time.Millisecond)
	}
	render(t, p, Request{URL: s.URL + "/"})
	if st := p.Stats(); st.Starts != 2 || st.Restarts != 1 {
		t.Errorf("Stats = %+v", st)
	}

	// Close leaves no process of ours and no profile.
	if len(processesUsing(p.dir)) == 0 {
		t.Fatal("found no browser process while the pool runs: the check below would prove nothing")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if pids := processesUsing(p.dir); len(pids) != 0 {
		t.Errorf("processes left after Close: %v", pids)
	}
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Errorf("profile dir %s still exists: %v", p.dir, err)
	}
	if _, err := p.Render(context.Background(), Request{URL: s.URL + "/"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Render after Close: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			html(w, `<p>loading</p><img src="/never.png">`)
		default:
			// A subresource that never finishes keeps load from firing.
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	p := newPool(t, Config{Timeout: 2 * time.Second})
	start := time.Now()
	_, err := p.Render(context.Background(), Request{URL: s.URL + "/"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the timeout took %v", d)
	}
	if st := p.Stats(); st.Failures != 1 {
		t.Errorf("Stats = %+v", st)
	}

	// The caller's own deadline is honoured too.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := p.Render(ctx, Request{URL: s.URL + "/"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
}

func TestNewWithoutBrowser(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Exec: "/nonexistent/chromium"})
	if !errors.Is(err, ErrNoBrowser) {
		t.Errorf("err = %v, want ErrNoBrowser", err)
	}
}

func testRenderRejectsNonHTTP(t *testing.T, p *Pool) {
	if _, err := p.Render(context.Background(), Request{URL: "file:///etc/passwd"}); err == nil {
		t.Error("a file URL was rendered")
	}
}

func BenchmarkRender(b *testing.B) {
	s := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<p>bench</p><script>document.body.append('x')</script>`)
	}))
	p := newPool(b, Config{Settle: 100 * time.Millisecond})
	render(b, p, Request{URL: s.URL + "/"}) // start the browser
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		render(b, p, Request{URL: s.URL + "/"})
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "renders/s")
}

func TestCloseDuringRender(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	p := newPool(t, Config{Timeout: 30 * time.Second})
	errc := make(chan error, 1)
	go func() {
		_, err := p.Render(context.Background(), Request{URL: s.URL + "/"})
		errc <- err
	}()
	select {
	case <-arrived:
	case err := <-errc:
		t.Fatalf("Render returned before the request arrived: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the page was never requested")
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	// Close waited for the render, so its error is there already.
	select {
	case err := <-errc:
		if err == nil {
			t.Error("a render interrupted by Close succeeded")
		}
	default:
		t.Error("Close returned before the render in flight ended")
	}
	if pids := processesUsing(p.dir); len(pids) != 0 {
		t.Errorf("processes left after Close: %v", pids)
	}
}
