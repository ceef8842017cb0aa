package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint written the way the package documentation
// tells integrators to write one: it verifies the HMAC over
// "<timestamp>.<body>" and the timestamp's freshness, and answers 401 when
// either is wrong. It does not use Sign, so it checks the documented
// algorithm rather than the code against itself.
type receiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	got    []delivery
	status int // answer after verification; 0 = 204
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{secret: secret}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Canhgac-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
			http.Error(w, "stale or missing timestamp", http.StatusUnauthorized)
			return
		}
		mac := hmac.New(sha256.New, []byte(rc.secret))
		mac.Write([]byte(ts + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Canhgac-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{r.Header.Clone(), body})
		status := rc.status
		rc.mu.Unlock()
		if status == 0 {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func webhookChannel(t *testing.T, cfg map[string]any) Channel {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	ch, err := New("webhook", raw)
	if err != nil {
		t.Fatalf("New(webhook, %s): %v", raw, err)
	}
	return ch
}

func TestWebhookSignedPayloadIsAccepted(t *testing.T) {
	rc := newReceiver(t, "bí mật chung")
	ch := webhookChannel(t, map[string]any{"url": rc.URL + "/hooks/canhgac?src=prov", "secret": "bí mật chung", "headers": map[string]string{"Authorization": "Bearer xyz"}})
	m := tetAlert()
	m.Group = []string{"Cổng TTĐT huyện A không truy cập được"}
	m.DeliveryID = "alert-42-step-0"
	if err := ch.Send(context.Background(), duty, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(rc.got) != 1 {
		t.Fatalf("receiver accepted %d requests", len(rc.got))
	}
	d := rc.got[0]
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if d.header.Get("Authorization") != "Bearer xyz" {
		t.Errorf("configured header missing: %v", d.header)
	}
	if d.header.Get("X-Canhgac-Delivery") != "alert-42-step-0" {
		t.Errorf("X-Canhgac-Delivery = %q", d.header.Get("X-Canhgac-Delivery"))
	}

	// The schema is the documented one, field for field.
	var doc map[string]any
	if err := json.Unmarshal(d.body, &doc); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(doc))
	want := []string{"ack_link", "address", "agency", "alert_id", "asset", "at", "count", "group", "kind", "lang", "link", "severity", "step", "summary", "test", "text", "title", "version"}
	if !slices.Equal(keys, want) {
		t.Errorf("payload keys %v\nwant %v", keys, want)
	}
	var p WebhookPayload
	json.Unmarshal(d.body, &p)
	if p.Version != 1 || p.AlertID != 42 || p.Severity != "critical" || p.Asset != "Cổng TTĐT Sở Y tế" ||
		p.Agency != "Sở Y tế" || p.Kind != "webmon.defaced" || p.At != "2025-01-29T02:00:00+07:00" ||
		p.Count != 3 || p.AckLink != m.AckLink || p.Lang != "vi" || len(p.Group) != 1 {
		t.Errorf("payload %+v", p)
	}
	if !strings.HasPrefix(p.Text, "[Nghiêm trọng] Website bị thay đổi giao diện") {
		t.Errorf("text = %q", p.Text)
	}
}

func TestWebhookWrongSecretIsRejectedPermanently(t *testing.T) {
	rc := newReceiver(t, "the receiver's secret")
	err := webhookChannel(t, map[string]any{"url": rc.URL, "secret": "another secret"}).Send(context.Background(), duty, tetAlert())
	if !IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Send with the wrong secret = %v; want permanent 401", err)
	}
	if len(rc.got) != 0 {
		t.Fatalf("receiver accepted a badly signed request")
	}
	// Sign matches what the receiver computes.
	body := []byte(`{"version":1}`)
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write([]byte("1700000000." + string(body)))
	if got, want := Sign("k", "1700000000", body), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookStatusesAreClassified(t *testing.T) {
	for _, tc := range []struct {
		status     int
		permanent  bool
		retryAfter time.Duration
	}{
		{200, false, 0},
		{202, false, 0},
		{500, false, 0},
		{503, false, 120 * time.Second},
		{408, false, 0},
		{429, false, 30 * time.Second},
		{400, true, 0},
		{404, true, 0},
		{410, true, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if tc.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(tc.retryAfter/time.Second)))
			}
			w.WriteHeader(tc.status)
			io.WriteString(w, strings.Repeat("x", 1<<20)) // a huge error page is read only in part
		}))
		err := webhookChannel(t, map[string]any{"url": srv.URL}).Send(context.Background(), duty, tetAlert())
		srv.Close()
		ok := tc.status/100 == 2
		switch {
		case ok && err != nil:
			t.Errorf("%d: %v", tc.status, err)
		case !ok && err == nil:
			t.Errorf("%d: Send succeeded", tc.status)
		case !ok && IsPermanent(err) != tc.permanent:
			t.Errorf("%d: IsPermanent(%v) = %v, want %v", tc.status, err, IsPermanent(err), tc.permanent)
		case err != nil && len(err.Error()) > 500:
			t.Errorf("%d: error text is %d bytes long", tc.status, len(err.Error()))
		}
		if d, _ := RetryAfter(err); d != tc.retryAfter {
			t.Errorf("%d: RetryAfter = %v, want %v", tc.status, d, tc.retryAfter)
		}
	}
}

func TestWebhookDeliveryIDIsStableAcrossRetries(t *testing.T) {
	rc := newReceiver(t, "s")
	rc.status = http.StatusInternalServerError
	ch := webhookChannel(t, map[string]any{"url": rc.URL, "secret": "s"})
	m := tetAlert()
	m.DeliveryID = "outbox:981"
	for range 2 {
		if err := ch.Send(context.Background(), duty, m); err == nil || IsPermanent(err) {
			t.Fatalf("500 = %v; want temporary", err)
		}
	}
	m.DeliveryID = ""
	for range 2 {
		ch.Send(context.Background(), duty, m)
	}
	ids := []string{}
	for _, d := range rc.got {
		ids = append(ids, d.header.Get("X-Canhgac-Delivery"))
	}
	if len(ids) != 4 || ids[0] != "outbox:981" || ids[1] != "outbox:981" || ids[2] == "" || ids[2] == ids[3] {
		t.Errorf("delivery ids %q; want the given id twice, then two distinct random ids", ids)
	}
	m.DeliveryID = "bad id\r\nX-Evil: 1"
	if err := ch.Send(context.Background(), duty, m); !IsPermanent(err) {
		t.Errorf("Send with a malformed delivery id = %v; want permanent", err)
	}
}

func TestWebhookFollowsOnlySameHostMethodPreservingRedirects(t *testing.T) {
	rc := newReceiver(t, "s")
	// 308 to a path on the same host keeps method and body.
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
			return
		}
		rc.Config.Handler.ServeHTTP(w, r)
	}))
	defer same.Close()
	if err := webhookChannel(t, map[string]any{"url": same.URL + "/old", "secret": "s"}).Send(context.Background(), duty, tetAlert()); err != nil {
		t.Fatalf("same-host 308: %v", err)
	}
	if len(rc.got) != 1 {
		t.Fatalf("same-host redirect not delivered")
	}
	// Another host, or a redirect that would turn the POST into a GET, is refused.
	for _, tc := range []struct {
		to     string
		status int
	}{
		{strings.Replace(rc.URL, "127.0.0.1", "localhost", 1), http.StatusTemporaryRedirect},
		{"/elsewhere", http.StatusFound},
	} {
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, tc.to, tc.status)
		}))
		err := webhookChannel(t, map[string]any{"url": redirect.URL, "secret": "s"}).Send(context.Background(), duty, tetAlert())
		redirect.Close()
		if !IsPermanent(err) {
			t.Errorf("redirect %d to %s = %v; want permanent", tc.status, tc.to, err)
		}
	}
	if len(rc.got) != 1 {
		t.Errorf("a refused redirect was followed")
	}
}

func TestWebhookTimeoutIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	start := time.Now()
	err := webhookChannel(t, map[string]any{"url": srv.URL + "/in?token=abc123", "timeout_seconds": 1}).Send(context.Background(), duty, tetAlert())
	if err == nil || IsPermanent(err) {
		t.Fatalf("timeout = %v; want temporary", err)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("timeout_seconds not honoured")
	}
	if strings.Contains(err.Error(), "abc123") {
		t.Errorf("error %q contains the URL's secret query value", err)
	}
}
