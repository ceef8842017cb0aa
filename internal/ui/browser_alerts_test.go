package ui_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage/storagetest"
)

// TestBrowserLiveAlertBoard drives the duty room's live board in headless
// Chromium: an alert raised while the page is open appears without a
// reload (server-sent event, then an htmx refresh of the board), the
// critical tile counts it, the row's button acknowledges it, and the page
// throws no JavaScript error and breaks no Content Security Policy rule.
func TestBrowserLiveAlertBoard(t *testing.T) {
	bin := chromium(t)
	s := storagetest.Backends(t)[0].Open(t)
	e := newEnv(t, s)
	e.user("truc-ban", model.RoleAnalyst, nil, false)

	ctx, cancel := headless(t, bin)

	// Every console message of the tab, from the first page on: uncaught
	// exceptions, console.error calls and browser log entries (a CSP
	// violation is one of those). The reader stops when ctx ends.
	cons := &consoleLog{}
	messages := chromedp.Console(ctx)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			cons.add(m)
		}
	}()
	defer func() { cancel(); <-readerDone }()

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/login"),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "truc-ban"),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#assets-by-agency"),
	)
	if err != nil {
		t.Fatalf("log in: %v", err)
	}

	// Watch the responses before opening the board: once the browser has
	// the stream's response headers, the server has subscribed it to
	// changes, so an alert raised after that must reach the page.
	sctx, cancelStream := context.WithTimeout(ctx, 20*time.Second)
	responses := chromedp.Events(sctx, network.ResponseReceived)
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/alerts"),
		chromedp.WaitVisible("#alert-list"),
		chromedp.WaitReady("#no-alerts"),
	)
	if err != nil {
		cancelStream()
		t.Fatalf("open the board: %v", err)
	}
	streaming := false
	for ev, err := range responses {
		if err != nil {
			break
		}
		if strings.HasSuffix(ev.Response.URL, "/alerts/stream") {
			streaming = ev.Response.Status == 200 && strings.HasPrefix(ev.Response.MimeType, "text/event-stream")
			if !streaming {
				t.Errorf("stream response: %d %s", ev.Response.Status, ev.Response.MimeType)
			}
			break
		}
	}
	cancelStream()
	if !streaming {
		t.Fatal("the board did not open its event stream within 20 s")
	}
	htmxLoaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof htmx === "object" && typeof htmx.trigger === "function"`))
	if err != nil || !htmxLoaded {
		t.Fatalf("htmx is not loaded on the board (%v)", err)
	}

	// Raise a critical alert behind the page's back; the board shows it
	// without a reload.
	const title = "Cổng Sở Y tế không truy cập được"
	res, err := e.alerts.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: alert.Critical,
		AssetID: &e.assetA.ID, DedupKey: "syt-down", Title: title})
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	var board, lastEvent string
	deadline := time.Now().Add(20 * time.Second)
	for {
		// htmx swaps the board out between finding and reading it; read again.
		board, err = chromedp.Run(ctx, chromedp.Text("#alert-list"))
		if err == nil && strings.Contains(board, title) {
			break
		}
		if time.Now().After(deadline) {
			lastEvent, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.getAttribute("data-last-event") || ""`))
			t.Fatalf("the board did not show the raised alert within 20 s (%v; last event %q):\n%s", err, lastEvent, board)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(board, "Nghiêm trọng") || !strings.Contains(board, "Sở Y tế") {
		t.Fatalf("new row lacks its severity or agency:\n%s", board)
	}
	lastEvent, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.getAttribute("data-last-event") || ""`))
	if err != nil || lastEvent != fmt.Sprintf("raised:%d", id) {
		t.Fatalf("last event on the page %q (%v), want raised:%d", lastEvent, err, id)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/alerts") {
		t.Fatalf("the page navigated instead of refreshing the board: %q %v", loc, err)
	}
	// The counts tiles sit above the filters, outside the board; the board
	// refresh swaps them too (hx-select-oob).
	var critical string
	for {
		critical, err = chromedp.Run(ctx, chromedp.Text("#alert-counts .sev-critical .big"))
		if err == nil && strings.TrimSpace(critical) == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("critical tile shows %q (%v), want 1", critical, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Acknowledge from the row: a submit button of the bulk form with its
	// own formaction. The server redirects back to the board.
	ackButton := fmt.Sprintf(`#alert-list button[formaction="/alerts/%d/ack"]`, id)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(ackButton), chromedp.Click(ackButton)); err != nil {
		t.Fatalf("click acknowledge: %v", err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		board, err = chromedp.Run(ctx, chromedp.Text("#alert-list"))
		if err == nil && strings.Contains(board, "Đang xử lý") && strings.Contains(board, "truc-ban") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the board does not show the alert acknowledged (%v):\n%s", err, board)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a, err := e.alerts.Get(ctx, model.System, id)
	if err != nil {
		t.Fatal(err)
	}
	if a.State != alert.StateAcknowledged || a.AckedBy != "truc-ban" {
		t.Fatalf("after clicking acknowledge: state %s by %q", a.State, a.AckedBy)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text("#flash"))
	if err != nil || flash == "" {
		t.Fatalf("no confirmation after acknowledging (%v)", err)
	}

	// No JavaScript error on any page. A marker written last tells when the
	// reader has seen every earlier message.
	const marker = "canhgac-test: end of the session"
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`console.info("`+marker+`"), true`)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !cons.seen(marker) {
		if time.Now().After(deadline) {
			t.Fatal("the console reader did not see the marker within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range cons.all() {
		if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
			t.Errorf("page console: %s (%s:%d)", m, m.URL, m.Line+1)
		}
	}
}

// consoleLog collects console messages from the reader goroutine.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (c *consoleLog) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

func (c *consoleLog) all() []chromedp.ConsoleMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), c.msgs...)
}

func (c *consoleLog) seen(text string) bool {
	for _, m := range c.all() {
		if m.Text == text {
			return true
		}
	}
	return false
}
