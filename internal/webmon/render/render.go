// Package render renders web pages in headless Chromium for website
// monitoring of pages that build their content with JavaScript. A Pool runs a
// bounded number of renders at once in one shared browser process, each in
// a tab of its own (in a fresh browser context, so cookies and storage do not
// leak between renders), and returns the rendered DOM as HTML and, on
// request, a PNG screenshot of the viewport as evidence of a defacement.
//
// The browser is restarted after Config.RecycleAfter renders to bound its
// memory, and a browser that died is replaced on the next Render. Close stops
// every browser process the pool started and removes its temporary profile
// directories.
//
// When Config.Allow is set, every network request the page makes (the
// document, redirects, scripts, XHR/fetch, images, in-process iframes) is
// paused with the DevTools Fetch domain and failed unless Allow accepts its
// host, so a monitored page cannot make the browser reach internal
// addresses. See Config.Allow for what this does not cover.
package render

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Defaults of Config.
const (
	DefaultTabs         = 2
	DefaultRecycleAfter = 200
	DefaultTimeout      = 30 * time.Second
	DefaultMaxHTML      = 5 << 20
	DefaultWidth        = 1366
	DefaultHeight       = 900
	DefaultSettle       = 500 * time.Millisecond
)

// maxIdleWait bounds how long a render waits, after the load event, for the
// network to go idle. A page that polls for ever is rendered as it is then.
const maxIdleWait = 3 * time.Second

// navGrace bounds how long a renderer-requested navigation (a JavaScript or
// meta redirect) may take to commit before the render gives up waiting for
// it and takes the current document.
const navGrace = 5 * time.Second

// startTimeout bounds the start of a browser process.
const startTimeout = 30 * time.Second

// Errors.
var (
	// ErrNoBrowser is returned by New when no Chromium binary is found.
	ErrNoBrowser = errors.New("render: no Chromium/Chrome binary found (install the Debian package chromium, or set Config.Exec)")
	// ErrClosed is returned by Render after Close.
	ErrClosed = errors.New("render: pool is closed")
	// ErrNotAllowed is returned by Render when Config.Allow rejects the host
	// of the requested URL itself.
	ErrNotAllowed = errors.New("render: host not allowed")
)

// Config configures a Pool. The zero value of each field selects its default.
type Config struct {
	// Exec is the browser binary, a path or a name looked up on PATH.
	// Default: the first of chromium, chromium-browser, google-chrome found
	// on PATH.
	Exec string
	// Tabs is the number of renders that run at once. Default 2.
	Tabs int
	// RecycleAfter restarts the browser after this many renders, to bound
	// its memory. Default 200.
	RecycleAfter int
	// Timeout bounds one render, including a browser start when one is
	// needed, but not the wait for a free tab. Default 30 s.
	Timeout time.Duration
	// MaxHTML caps the returned HTML in bytes. Default 5 MiB.
	MaxHTML int
	// Allow, when set, decides for every request the page makes whether its
	// URL host may be fetched. It is called from several goroutines at once.
	// The host is a hostname or IP literal, without port.
	// Requests to other hosts, and requests with schemes other than http and
	// https, fail with BlockedByClient. When set, the pool also disables
	// WebSocket, WebTransport, EventSource and RTCPeerConnection in the page
	// and bypasses service workers. The browser always runs without popups
	// and without site isolation, so that every frame's requests pass
	// through the tab's interception.
	//
	// Allow sees host names, not addresses: it must resolve names itself
	// (and accept the risk of DNS rebinding) if it wants to reject names that
	// resolve to internal addresses. Requests that a dedicated or shared
	// worker makes may not be intercepted by every Chromium version.
	Allow func(host string) bool
	// Width and Height are the viewport size in CSS pixels (device scale
	// factor 1). Default 1366x900.
	Width, Height int
	// Settle is the minimum wait after the load event, so that scripts that
	// run on load or on a short timer have run. The render also waits, for
	// at most 3 s after load, for the network to be quiet: no request of the
	// tab in flight for Settle (or Chromium's networkIdle). Default 500 ms.
	Settle time.Duration
	// JSHeapMB caps the V8 old-space heap of each renderer in MiB
	// (--js-flags=--max-old-space-size). Default 512.
	JSHeapMB int
}

// Request is one page to render.
type Request struct {
	URL       string
	UserAgent string // optional User-Agent override
	Referer   string // optional referrer of the navigation
	// Screenshot asks for a PNG of the viewport after the page settled.
	Screenshot bool
}

// Result is a rendered page.
type Result struct {
	// HTML is the serialized DOM (doctype and document element) after the
	// page settled, at most Config.MaxHTML bytes.
	HTML []byte
	// Truncated reports that HTML was cut at Config.MaxHTML.
	Truncated bool
	// FinalURL is location.href of the rendered document, after HTTP and
	// JavaScript redirects.
	FinalURL string
	// Status is the HTTP status of the last main-frame document response,
	// or 0 if none was seen.
	Status int
	// Screenshot is a PNG of the viewport, when Request.Screenshot is set.
	Screenshot []byte
}

// Stats counts the work of a Pool.
type Stats struct {
	Renders  int64 // renders that succeeded
	Failures int64 // renders that returned an error
	Starts   int64 // browser processes started
	Restarts int64 // browsers started to replace a recycled or dead one
	Active   int   // renders running now
}

// Pool renders pages in a shared headless browser. Its methods are safe for
// concurrent use.
type Pool struct {
	cfg  Config
	exec string
	dir  string // temporary root of the browser profiles
	sem  chan struct{}

	mu     sync.Mutex
	cur    *instance
	closed bool
	seq    int
	stats  Stats
	wg     sync.WaitGroup // renders, tab closes and browser stops in flight
}

// instance is one browser process.
type instance struct {
	dir         string
	allocCancel context.CancelFunc
	bctx        context.Context
	bcancel     context.CancelFunc
	renders     int
	active      int
	retired     bool
}

// New checks the configuration and finds the browser binary. It starts no
// browser: the first Render does.
func New(cfg Config) (*Pool, error) {
	if cfg.Tabs <= 0 {
		cfg.Tabs = DefaultTabs
	}
	if cfg.RecycleAfter <= 0 {
		cfg.RecycleAfter = DefaultRecycleAfter
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxHTML <= 0 {
		cfg.MaxHTML = DefaultMaxHTML
	}
	if cfg.Width <= 0 {
		cfg.Width = DefaultWidth
	}
	if cfg.Height <= 0 {
		cfg.Height = DefaultHeight
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.JSHeapMB <= 0 {
		cfg.JSHeapMB = 512
	}
	bin, err := findBrowser(cfg.Exec)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "canhgac-render-")
	if err != nil {
		return nil, fmt.Errorf("render: temp profile dir: %w", err)
	}
	return &Pool{cfg: cfg, exec: bin, dir: dir, sem: make(chan struct{}, cfg.Tabs)}, nil
}

// findBrowser returns the path of the browser binary.
func findBrowser(name string) (string, error) {
	if name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrNoBrowser, name, err)
		}
		return p, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Stats returns the counters of the pool.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops every browser of the pool, waits for them to exit, kills any
// leftover child process and removes the temporary profile directories.
// Renders still running fail. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cur := p.cur
	p.cur = nil
	p.mu.Unlock()
	if cur != nil {
		// Running renders fail at once: their tabs belong to this browser.
		cur.bcancel()
		p.mu.Lock()
		cur.retired = true
		idle := cur.active == 0
		p.mu.Unlock()
		if idle {
			p.stopAsync(cur)
		}
	}
	p.wg.Wait()
	// Kill anything that still has a profile of ours (for example a browser
	// whose stop raced with Close) before removing the directories.
	killLeftovers(p.dir)
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("render: removing %s: %w", p.dir, err)
	}
	return nil
}

// Render loads req.URL in a new tab, waits for it to settle and returns the
// rendered DOM. It waits for a free tab first, honouring ctx. The render
// itself is bounded by Config.Timeout and by ctx; on timeout the error wraps
// context.DeadlineExceeded.
func (p *Pool) Render(ctx context.Context, req Request) (Result, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return Result{}, fmt.Errorf("render: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Result{}, fmt.Errorf("render: %q: only http and https URLs are rendered", req.URL)
	}
	if p.cfg.Allow != nil && !p.cfg.Allow(u.Hostname()) {
		return Result{}, fmt.Errorf("%w: %s", ErrNotAllowed, u.Hostname())
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("render: waiting for a tab: %w", ctx.Err())
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-p.sem
		}
	}
	defer release()

	deadline := time.Now().Add(p.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	sctx, scancel := context.WithDeadline(ctx, deadline)
	inst, err := p.acquire(sctx)
	scancel()
	if err != nil {
		p.count(false)
		return Result{}, err
	}

	// The tab context must derive from the browser context, so the caller's
	// ctx cancels it through AfterFunc.
	tctx, tcancel := chromedp.NewContext(inst.bctx, chromedp.WithNewBrowserContext())
	rctx, rcancel := context.WithDeadline(tctx, deadline)
	stop := context.AfterFunc(ctx, rcancel)

	res, err := p.render(rctx, req)

	stop()
	rcancel()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("render %s: %w (%w)", req.URL, ctx.Err(), err)
		case rctx.Err() != nil && !errors.Is(err, rctx.Err()):
			err = fmt.Errorf("render %s: %w (%w)", req.URL, rctx.Err(), err)
		default:
			err = fmt.Errorf("render %s: %w", req.URL, err)
		}
	}
	p.count(err == nil)

	// Close the tab in the background (it can take a moment for a page with
	// a hanging request); the tab slot is freed only when it is closed.
	released = true
	go func() { // p.wg.Add(1) was done by acquire
		defer p.wg.Done()
		tcancel()
		p.releaseInstance(inst)
		<-p.sem
	}()
	return res, err
}

func (p *Pool) count(ok bool) {
	p.mu.Lock()
	if ok {
		p.stats.Renders++
	} else {
		p.stats.Failures++
	}
	p.mu.Unlock()
}

// acquire returns the current browser, starting one when there is none, the
// current one died, or it served RecycleAfter renders.
func (p *Pool) acquire(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	replacing := false
	if cur := p.cur; cur != nil && (cur.bctx.Err() != nil || cur.renders >= p.cfg.RecycleAfter) {
		p.retireLocked(cur)
		p.cur = nil
		replacing = true
	}
	if p.cur == nil {
		inst, err := p.start(ctx)
		if err != nil {
			return nil, err
		}
		p.stats.Starts++
		if replacing || p.stats.Starts > 1 {
			p.stats.Restarts++
		}
		p.cur = inst
	}
	p.cur.renders++
	p.cur.active++
	p.stats.Active++
	// Close waits for the render and the close of its tab. The Add happens
	// under p.mu before closed is set, so never concurrently with Wait.
	p.wg.Add(1)
	return p.cur, nil
}

// retireLocked marks inst as no longer used for new renders, and stops it
// when no render uses it.
func (p *Pool) retireLocked(inst *instance) {
	inst.retired = true
	if inst.active == 0 {
		p.stopAsync(inst)
	}
}

func (p *Pool) releaseInstance(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inst.active--
	p.stats.Active--
	if inst.bctx.Err() != nil && p.cur == inst {
		// The browser died: the next Render starts a new one.
		p.cur = nil
		inst.retired = true
	}
	if inst.retired && inst.active == 0 {
		p.stopAsync(inst)
	}
}

// stopAsync stops the browser of inst in the background; Close waits for it.
func (p *Pool) stopAsync(inst *instance) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		inst.stop()
	}()
}

// stop kills the browser, waits for it, kills leftover child processes that
// still use its profile and removes the profile.
func (inst *instance) stop() {
	inst.bcancel()
	inst.allocCancel()
	killLeftovers(inst.dir)
	os.RemoveAll(inst.dir)
}

// start starts a browser process. p.mu is held.
func (p *Pool) start(ctx context.Context) (*instance, error) {
	p.seq++
	dir := filepath.Join(p.dir, "profile-"+strconv.Itoa(p.seq))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("render: profile dir: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(p.exec),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(p.cfg.Width, p.cfg.Height),
		chromedp.Flag("disable-popup-blocking", false),
		chromedp.Flag("block-new-web-contents", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-notifications", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,site-per-process,IsolateOrigins,MediaRouter,OptimizationHints,AutofillServerCommunication,InterestFeedContentSuggestions"),
		chromedp.Flag("renderer-process-limit", strconv.Itoa(p.cfg.Tabs+1)),
		chromedp.Flag("js-flags", "--max-old-space-size="+strconv.Itoa(p.cfg.JSHeapMB)),
		chromedp.Flag("disk-cache-size", "1"),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	inst := &instance{dir: dir, allocCancel: acancel, bctx: bctx, bcancel: bcancel}

	// The first Do binds the browser's life to bctx, so it must not run with
	// ctx; wait for it with ctx and a bound instead.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(bctx) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = context.DeadlineExceeded
	}
	if err != nil {
		bcancel()
		<-done
		inst.stop()
		return nil, fmt.Errorf("render: starting %s: %w", p.exec, err)
	}
	return inst, nil
}

// noNetworkAPIs removes the page APIs whose connections the Fetch domain does
// not intercept.
const noNetworkAPIs = `(() => {
  for (const k of ['WebSocket', 'WebTransport', 'RTCPeerConnection', 'webkitRTCPeerConnection', 'EventSource']) {
    try { delete window[k]; } catch (e) {}
    try { Object.defineProperty(window, k, {value: undefined, configurable: false, writable: false}); } catch (e) {}
  }
})();`

// loadState follows the main frame's document through the events of the tab.
type loadState struct {
	mu       sync.Mutex
	frame    cdp.FrameID
	loader   cdp.LoaderID
	loaded   time.Time // when the current document fired load; zero before
	idle     bool      // networkIdle seen for the current document
	pending  time.Time // a renderer-requested navigation is pending since
	inflight map[network.RequestID]bool
	activity time.Time // last request start or end
	status   int
	notifyCh chan struct{}
}

func (s *loadState) notify() {
	select {
	case s.notifyCh <- struct{}{}:
	default:
	}
}

// event runs on the tab's reader goroutine: it must be fast and call no
// command.
func (s *loadState) event(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frame == "" {
		return
	}
	switch ev := ev.(type) {
	case *page.EventLifecycleEvent:
		if ev.FrameID != s.frame {
			return
		}
		switch ev.Name {
		case "init":
			s.loader = ev.LoaderID
			s.loaded = time.Time{}
			s.idle = false
			s.pending = time.Time{}
		case "load":
			if ev.LoaderID == s.loader {
				s.loaded = time.Now()
			}
		case "networkIdle":
			if ev.LoaderID == s.loader {
				s.idle = true
			}
		}
	case *page.EventFrameRequestedNavigation:
		if ev.FrameID == s.frame {
			s.pending = time.Now()
		}
	case *page.EventFrameStartedNavigating:
		if ev.FrameID == s.frame && ev.NavigationType != page.FrameStartedNavigatingNavigationTypeSameDocument {
			s.pending = time.Now()
		}
	case *network.EventRequestWillBeSent:
		s.inflight[ev.RequestID] = true
		s.activity = time.Now()
		return
	case *network.EventLoadingFinished:
		delete(s.inflight, ev.RequestID)
		s.activity = time.Now()
	case *network.EventLoadingFailed:
		delete(s.inflight, ev.RequestID)
		s.activity = time.Now()
	case *network.EventResponseReceived:
		if ev.FrameID == s.frame && ev.Type == network.ResourceTypeDocument && ev.Response != nil {
			s.status = int(ev.Response.Status)
		}
	default:
		return
	}
	s.notify()
}

// settled reports whether the current document loaded and settled.
func (s *loadState) settled(settle time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.pending.IsZero() {
		if now.Sub(s.pending) < navGrace {
			return false
		}
		// The navigation never committed (cancelled, download, blocked
		// without an error page): take the current document.
	}
	if s.loaded.IsZero() {
		return false
	}
	since := now.Sub(s.loaded)
	quiet := len(s.inflight) == 0 && now.Sub(s.activity) >= settle
	return since >= settle && (quiet || s.idle || since >= maxIdleWait)
}

// render runs one render in the tab of ctx.
func (p *Pool) render(ctx context.Context, req Request) (Result, error) {
	st := &loadState{notifyCh: make(chan struct{}, 1), inflight: make(map[network.RequestID]bool)}
	// Listen opens the tab.
	if err := chromedp.Listen(ctx, st.event); err != nil {
		return Result{}, fmt.Errorf("opening a tab: %w", err)
	}

	var fwg sync.WaitGroup
	fctx, fcancel := context.WithCancel(ctx)
	defer func() {
		fcancel()
		fwg.Wait()
	}()
	if p.cfg.Allow != nil {
		events := chromedp.Events(fctx, fetch.RequestPaused)
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			p.intercept(fctx, events)
		}()
		if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
			Patterns: []*fetch.RequestPattern{{URLPattern: "*", RequestStage: fetch.RequestStageRequest}},
		}); err != nil {
			return Result{}, fmt.Errorf("enabling request interception: %w", err)
		}
		if _, err := chromedp.Call(ctx, network.SetBypassServiceWorker, network.SetBypassServiceWorkerParams{Bypass: true}); err != nil {
			return Result{}, err
		}
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: noNetworkAPIs}); err != nil {
			return Result{}, err
		}
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		return Result{}, err
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(p.cfg.Width), int64(p.cfg.Height))); err != nil {
		return Result{}, fmt.Errorf("setting the viewport: %w", err)
	}
	if req.UserAgent != "" {
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: req.UserAgent}); err != nil {
			return Result{}, fmt.Errorf("setting the user agent: %w", err)
		}
	}
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return Result{}, err
	}
	st.mu.Lock()
	st.frame = tree.FrameTree.Frame.ID
	st.mu.Unlock()

	nav, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: req.URL, Referrer: req.Referer})
	if err != nil {
		return Result{}, fmt.Errorf("navigating: %w", err)
	}
	if nav.ErrorText != "" {
		return Result{}, fmt.Errorf("navigating: %s", nav.ErrorText)
	}

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !st.settled(p.cfg.Settle) {
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("waiting for the page to load: %w", ctx.Err())
		case <-st.notifyCh:
		case <-tick.C:
		}
	}

	type dom struct {
		URL       string `json:"url"`
		HTML      string `json:"html"`
		Truncated bool   `json:"truncated"`
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[dom](`(() => {
  const d = document, max = `+strconv.Itoa(p.cfg.MaxHTML)+`;
  let h = d.documentElement ? d.documentElement.outerHTML : '';
  if (d.doctype) h = new XMLSerializer().serializeToString(d.doctype) + '\n' + h;
  const t = h.length > max;
  return {url: location.href, html: t ? h.slice(0, max) : h, truncated: t};
})()`))
	if err != nil {
		return Result{}, fmt.Errorf("reading the DOM: %w", err)
	}
	res := Result{FinalURL: d.URL, Truncated: d.Truncated}
	html := d.HTML
	if len(html) > p.cfg.MaxHTML {
		res.Truncated = true
		cut := p.cfg.MaxHTML
		for cut > 0 && !utf8.RuneStart(html[cut]) {
			cut--
		}
		html = html[:cut]
	}
	res.HTML = []byte(html)
	st.mu.Lock()
	res.Status = st.status
	st.mu.Unlock()

	if req.Screenshot {
		shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:      page.CaptureScreenshotFormatPng,
			FromSurface: ptr(true),
		})
		if err != nil {
			return Result{}, fmt.Errorf("taking the screenshot: %w", err)
		}
		res.Screenshot = shot.Data
	}
	return res, nil
}

// intercept answers every paused request: continue if Allow accepts its
// host, fail otherwise.
func (p *Pool) intercept(ctx context.Context, events iter.Seq2[fetch.EventRequestPaused, error]) {
	for ev, err := range events {
		if err != nil {
			return
		}
		allowed := false
		if ev.Request != nil {
			if u, err := url.Parse(ev.Request.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				allowed = p.cfg.Allow(u.Hostname())
			}
		}
		if allowed {
			_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		} else {
			_, err = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
		if err != nil && ctx.Err() != nil {
			return
		}
	}
}

func ptr[T any](v T) *T { return &v }
