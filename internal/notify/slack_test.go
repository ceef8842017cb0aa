package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSlackPostsEscapedText(t *testing.T) {
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hooks/abcdefghijklmnopqrstuvwxyz" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no_service")
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode: %v", err)
		}
		got = append(got, body)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	ch, err := New("slack", json.RawMessage(`{"url":"`+srv.URL+`/hooks/abcdefghijklmnopqrstuvwxyz"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := tetAlert()
	m.Title = "Trang chủ hiện <script> & <!channel>"
	if err := ch.Send(context.Background(), Recipient{}, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(got) != 1 || len(got[0]) != 1 {
		t.Fatalf("received %v; want one {\"text\": …}", got)
	}
	text, _ := got[0]["text"].(string)
	if !strings.Contains(text, "Trang chủ hiện &lt;script&gt; &amp; &lt;!channel&gt;") {
		t.Errorf("text not escaped for Slack:\n%s", text)
	}
	if !strings.Contains(text, "Sở Y tế") || !strings.Contains(text, "https://canhgac.example.gov.vn/alerts/42") {
		t.Errorf("text lacks agency or link:\n%s", text)
	}

	gone, _ := New("slack", json.RawMessage(`{"url":"`+srv.URL+`/hooks/revoked"}`))
	err = gone.Send(context.Background(), Recipient{}, m)
	if !IsPermanent(err) || !strings.Contains(err.Error(), "no_service") {
		t.Errorf("revoked hook = %v; want permanent no_service", err)
	}
	if strings.Contains(err.Error(), "revoked") {
		t.Errorf("error %q contains the hook's secret path", err)
	}
}
