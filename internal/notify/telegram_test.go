package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

// botAPI is a local stand-in for api.telegram.org's sendMessage. reply
// decides the answer for each request it records.
type botAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	reply    func(w http.ResponseWriter)
}

func newBotAPI(t *testing.T, reply func(w http.ResponseWriter)) *botAPI {
	b := &botAPI{reply: reply}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/bot"+testToken+"/sendMessage" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var req map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			t.Errorf("decode request: %v", err)
		}
		b.mu.Lock()
		b.requests = append(b.requests, req)
		b.mu.Unlock()
		b.reply(w)
	}))
	t.Cleanup(b.Close)
	return b
}

func answer(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func telegramChannel(t *testing.T, baseURL, chatID string) Channel {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"base_url": baseURL, "bot_token": testToken, "chat_id": chatID, "timeout_seconds": 2})
	ch, err := New("telegram", raw)
	if err != nil {
		t.Fatalf("New(telegram): %v", err)
	}
	return ch
}

func TestTelegramSendsPlainTextToTheRecipientsChat(t *testing.T) {
	api := newBotAPI(t, answer(200, `{"ok":true,"result":{"message_id":1}}`))
	ch := telegramChannel(t, api.URL, "-1001234567890")

	if err := ch.Send(context.Background(), duty, tetAlert()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// Without a personal chat id the channel's group chat is used.
	if err := ch.Send(context.Background(), Recipient{Name: "Nhóm trực"}, tetAlert()); err != nil {
		t.Fatalf("Send to the default chat: %v", err)
	}
	if len(api.requests) != 2 {
		t.Fatalf("bot API got %d requests, want 2", len(api.requests))
	}
	first := api.requests[0]
	if first["chat_id"] != json.Number("123456789") {
		t.Errorf("chat_id = %#v, want the recipient's 123456789 as a number", first["chat_id"])
	}
	if first["disable_web_page_preview"] != true {
		t.Errorf("disable_web_page_preview = %v", first["disable_web_page_preview"])
	}
	text, _ := first["text"].(string)
	for _, want := range []string{"[Nghiêm trọng] Website bị thay đổi giao diện", "Sở Y tế", "02:00 29/01/2025", "Xác nhận đã nhận: https://canhgac.example.gov.vn/ack/42?t=abc"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if api.requests[1]["chat_id"] != json.Number("-1001234567890") {
		t.Errorf("default chat_id = %#v", api.requests[1]["chat_id"])
	}
}

func TestTelegramRateLimitIsTemporaryWithRetryAfter(t *testing.T) {
	api := newBotAPI(t, answer(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`))
	err := telegramChannel(t, api.URL, "").Send(context.Background(), duty, tetAlert())
	if err == nil || IsPermanent(err) {
		t.Fatalf("429 = %v; want a temporary error", err)
	}
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter = %v, %v; want 7s", d, ok)
	}
}

func TestTelegramRefusalsArePermanent(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
	}{
		{403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`},
		{400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`},
		{400, `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009876543210}}`},
		{401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`},
	} {
		body := tc.body
		api := newBotAPI(t, answer(tc.code, body))
		err := telegramChannel(t, api.URL, "").Send(context.Background(), duty, tetAlert())
		if !IsPermanent(err) {
			t.Errorf("%s → %v; want permanent", body, err)
		}
		if _, ok := RetryAfter(err); ok {
			t.Errorf("%s → RetryAfter set", body)
		}
	}
	api := newBotAPI(t, answer(403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`))
	err := telegramChannel(t, api.URL, "").Send(context.Background(), duty, tetAlert())
	if err == nil || !strings.Contains(err.Error(), "bot was blocked") {
		t.Errorf("error %v does not say the bot was blocked", err)
	}
}

func TestTelegramServerErrorsAndGarbageAreTemporary(t *testing.T) {
	for _, reply := range []func(http.ResponseWriter){
		answer(502, `<html>Bad Gateway</html>`),
		answer(500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`),
	} {
		api := newBotAPI(t, reply)
		err := telegramChannel(t, api.URL, "").Send(context.Background(), duty, tetAlert())
		if err == nil || IsPermanent(err) {
			t.Errorf("server error → %v; want temporary", err)
		}
	}
}

func TestTelegramRecipientWithoutChatIsPermanent(t *testing.T) {
	api := newBotAPI(t, answer(200, `{"ok":true}`))
	ch := telegramChannel(t, api.URL, "")
	for _, to := range []Recipient{{Name: "An"}, {Name: "Bình", TelegramChatID: "12; DROP"}} {
		if err := ch.Send(context.Background(), to, tetAlert()); !IsPermanent(err) {
			t.Errorf("Send to %+v = %v; want permanent", to, err)
		}
	}
	if len(api.requests) != 0 {
		t.Errorf("bot API was called %d times", len(api.requests))
	}
}

// The bot token is a password for the bot; it travels in the URL path, and
// Go's *url.Error repeats the URL. No error may carry it.
func TestTelegramErrorsNeverContainTheToken(t *testing.T) {
	var errs []error
	collect := func(ch Channel, ctx context.Context) {
		errs = append(errs, ch.Send(ctx, duty, tetAlert()))
	}

	// Answers from the API.
	for _, reply := range []func(http.ResponseWriter){
		answer(401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`),
		answer(502, `bad gateway for /bot`+testToken+`/sendMessage`),
		answer(200, `not json, echoing /bot`+testToken),
		answer(429, `{"ok":false,"error_code":429,"description":"Too Many Requests for `+testToken+`","parameters":{"retry_after":1}}`),
	} {
		collect(telegramChannel(t, newBotAPI(t, reply).URL, ""), context.Background())
	}
	// Nothing listening.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	collect(telegramChannel(t, closed.URL, ""), context.Background())
	// A server too slow for the context.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	collect(telegramChannel(t, slow.URL, ""), ctx)
	// A redirect to another host is not followed.
	other := newBotAPI(t, answer(200, `{"ok":true}`))
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	collect(telegramChannel(t, redirect.URL, ""), context.Background())
	if len(other.requests) != 0 {
		t.Errorf("the redirect to another host was followed")
	}

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: Send succeeded", i)
			continue
		}
		secret := strings.SplitN(testToken, ":", 2)[1]
		for e := err; e != nil; e = unwrapOne(e) {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("case %d: error text contains the token: %v", i, e)
			}
		}
	}
}

// unwrapOne follows a single-error Unwrap chain.
func unwrapOne(err error) error {
	u, ok := err.(interface{ Unwrap() error })
	if !ok {
		return nil
	}
	return u.Unwrap()
}

func TestTelegramLongMessagesAreCut(t *testing.T) {
	api := newBotAPI(t, answer(200, `{"ok":true}`))
	m := tetAlert()
	m.Summary = strings.Repeat("Trang web không phản hồi. ", 1000)
	for i := range 50 {
		m.Group = append(m.Group, strings.Repeat("Cổng thông tin điện tử huyện ", 10)+string(rune('A'+i%26)))
	}
	if err := telegramChannel(t, api.URL, "").Send(context.Background(), duty, m); err != nil {
		t.Fatal(err)
	}
	text := api.requests[0]["text"].(string)
	if n := len([]rune(text)); n > maxTelegramText || !strings.HasSuffix(text, "…") {
		t.Errorf("text has %d runes (limit %d), ends %q", n, maxTelegramText, text[len(text)-10:])
	}
}
