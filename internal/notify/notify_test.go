package notify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"canhgac/internal/model"
)

func TestNewRefusesBadConfigurations(t *testing.T) {
	for _, tc := range []struct {
		kind, config, field string
	}{
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","colour":"red"}`, "config"},
		{"email", `{"from":"a@example.gov.vn"}`, "host"},
		{"email", `{"host":"smtp://mail.example.gov.vn","from":"a@example.gov.vn"}`, "host"},
		{"email", `{"host":"mail.example.gov.vn","port":70000,"from":"a@example.gov.vn"}`, "port"},
		{"email", `{"host":"mail.example.gov.vn","port":-1,"from":"a@example.gov.vn"}`, "port"},
		{"email", `{"host":"mail.example.gov.vn","port":"587","from":"a@example.gov.vn"}`, "port"},
		{"email", `{"host":"mail.example.gov.vn","from":"not an address"}`, "from"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn\r\nBcc: x@y"}`, "from"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","security":"ssl"}`, "security"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","password":"p"}`, "username"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","username":"u","password":"********"}`, "password"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","ca_pem":"not pem"}`, "ca_pem"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","timeout_seconds":3600}`, "timeout_seconds"},
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn"} {}`, "config"},
		{"email", `[1,2]`, "config"},
		{"telegram", `{"chat_id":"-100123"}`, "bot_token"},
		{"telegram", `{"bot_token":"not-a-token"}`, "bot_token"},
		{"telegram", `{"bot_token":"123:AAHdqTcvCH1vGWJx","chat_id":"general chat"}`, "chat_id"},
		{"telegram", `{"bot_token":"123:AAHdqTcvCH1vGWJx","base_url":"http://tg.example.gov.vn"}`, "base_url"},
		{"telegram", `{"bot_token":"123:AAHdqTcvCH1vGWJx","base_url":"ftp://127.0.0.1"}`, "base_url"},
		{"telegram", `{"bot_token":"123:AAHdqTcvCH1vGWJx","token":"x"}`, "config"},
		{"webhook", `{}`, "url"},
		{"webhook", `{"url":"javascript:alert(1)"}`, "url"},
		{"webhook", `{"url":"file:///etc/passwd"}`, "url"},
		{"webhook", `{"url":"/relative/path"}`, "url"},
		{"webhook", `{"url":"https://"}`, "url"},
		{"webhook", `{"url":"https://user:pass@hook.example.gov.vn/"}`, "url"},
		{"webhook", `{"url":"https://hook.example.gov.vn:99999/"}`, "url"},
		{"webhook", `{"url":"https://hook.example.gov.vn/********"}`, "url"},
		{"webhook", `{"url":"https://hook.example.gov.vn/","headers":{"X-Canhgac-Signature":"x"}}`, "headers"},
		{"webhook", `{"url":"https://hook.example.gov.vn/","headers":{"Content-Type":"text/plain"}}`, "headers"},
		{"webhook", `{"url":"https://hook.example.gov.vn/","headers":{"Bad Name":"x"}}`, "headers"},
		{"webhook", `{"url":"https://hook.example.gov.vn/","headers":{"X-Token":"a\r\nX-Evil: 1"}}`, "headers"},
		{"webhook", `{"url":"https://hook.example.gov.vn/","headers":{"x-token":"a","X-Token":"b"}}`, "headers"},
		{"webhook", `{"url":"https://hook.example.gov.vn/","headers":"Authorization: x"}`, "headers"},
		{"slack", `{"url":"hooks.slack.com/services/T/B/x"}`, "url"},
		{"slack", `{"url":"https://hooks.slack.com/services/T/B/x","channel":"#soc"}`, "config"},
		{"zalo", `{"oa_id":"123"}`, "kind"},
		{"sms", `{}`, "kind"},
	} {
		_, err := New(tc.kind, json.RawMessage(tc.config))
		var ve *model.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("New(%s, %s) = %v; want a validation error", tc.kind, tc.config, err)
			continue
		}
		if ve.Field != tc.field {
			t.Errorf("New(%s, %s): field %q (%v), want %q", tc.kind, tc.config, ve.Field, err, tc.field)
		}
	}
}

func TestZaloIsExplainedNotImplemented(t *testing.T) {
	_, err := New("zalo", nil)
	if err == nil || !strings.Contains(err.Error(), "Official Account") || !strings.Contains(err.Error(), "template") {
		t.Fatalf("New(zalo) = %v; want an explanation", err)
	}
}

func TestNewAcceptsGoodConfigurationsAndFillsDefaults(t *testing.T) {
	for kind, config := range map[string]string{
		"email":    `{"host":"mail.example.gov.vn","from":"Canh gác <canhgac@example.gov.vn>","username":"u","password":"p"}`,
		"telegram": `{"bot_token":"123456:AAHdqTcvCH1vGWJx","chat_id":"@sotttt_truc"}`,
		"webhook":  `{"url":"https://hook.example.gov.vn/in","secret":"s","headers":{"Authorization":"Bearer t"}}`,
		"slack":    `{"url":"https://chat.example.gov.vn/hooks/xyz"}`,
	} {
		ch, err := New(kind, json.RawMessage(config))
		if err != nil {
			t.Errorf("New(%s, %s): %v", kind, config, err)
			continue
		}
		if ch.Kind() != kind {
			t.Errorf("Kind() = %q, want %q", ch.Kind(), kind)
		}
	}
	redacted, _ := Redact("email", json.RawMessage(`{"host":"mail.example.gov.vn","from":"a@example.gov.vn"}`))
	var cfg EmailConfig
	json.Unmarshal(redacted, &cfg)
	if cfg.Security != "starttls" || cfg.Port != 587 || cfg.TimeoutSeconds != 30 {
		t.Errorf("email defaults %+v; want starttls on 587 with 30 s", cfg)
	}
	redacted, _ = Redact("email", json.RawMessage(`{"host":"mail.example.gov.vn","from":"a@example.gov.vn","security":"tls"}`))
	json.Unmarshal(redacted, &cfg)
	if cfg.Port != 465 {
		t.Errorf("tls default port %d, want 465", cfg.Port)
	}
	redacted, _ = Redact("telegram", json.RawMessage(`{"bot_token":"1:x"}`))
	var tg TelegramConfig
	json.Unmarshal(redacted, &tg)
	if tg.BaseURL != "https://api.telegram.org" || tg.TimeoutSeconds != 10 {
		t.Errorf("telegram defaults %+v", tg)
	}
}

func TestRedactHidesEverySecret(t *testing.T) {
	for _, tc := range []struct {
		kind, config string
		secrets      []string // must not appear
		visible      []string // must still appear
	}{
		{"email", `{"host":"mail.example.gov.vn","from":"a@example.gov.vn","username":"canhgac","password":"Mật khẩu 2025!"}`,
			[]string{"Mật khẩu 2025!"}, []string{"mail.example.gov.vn", "canhgac", `"password":"********"`}},
		{"telegram", `{"bot_token":"123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw","chat_id":"-100"}`,
			[]string{"AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "123456:"}, []string{`"chat_id":"-100"`}},
		{"webhook", `{"url":"https://hook.example.gov.vn/in/abc123?token=qwerty&x=1","secret":"hmac-key","headers":{"Authorization":"Bearer zzz"}}`,
			[]string{"hmac-key", "zzz", "qwerty", "abc123"}, []string{"hook.example.gov.vn", "Authorization", "token="}},
		{"slack", `{"url":"https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXX"}`,
			[]string{"T0001", "B0002", "XXXXXXXXXXXXXXXX"}, []string{"https://hooks.slack.com/services/********"}},
		{"slack", `{"url":"https://chat.example.gov.vn/hooks/p9k8j7h6g5f4"}`,
			[]string{"p9k8j7h6g5f4"}, []string{"https://chat.example.gov.vn/hooks/********"}},
	} {
		out, err := Redact(tc.kind, json.RawMessage(tc.config))
		if err != nil {
			t.Errorf("Redact(%s): %v", tc.kind, err)
			continue
		}
		for _, s := range tc.secrets {
			if strings.Contains(string(out), s) {
				t.Errorf("Redact(%s) = %s; still shows %q", tc.kind, out, s)
			}
		}
		for _, s := range tc.visible {
			if !strings.Contains(string(out), s) {
				t.Errorf("Redact(%s) = %s; hides %q", tc.kind, out, s)
			}
		}
	}
	// Empty secrets stay empty, so the UI can say "not set".
	out, _ := Redact("webhook", json.RawMessage(`{"url":"https://hook.example.gov.vn/"}`))
	if !strings.Contains(string(out), `"secret":""`) {
		t.Errorf("empty secret redacted to %s", out)
	}
}

func TestMergeKeepsSecretsSentBackMasked(t *testing.T) {
	for _, tc := range []struct {
		kind, stored, edit string
		want               map[string]any // fields of the merged configuration
	}{
		{"email",
			`{"host":"mail.example.gov.vn","from":"a@example.gov.vn","username":"u","password":"old-pass"}`,
			`{"host":"mail2.example.gov.vn","from":"a@example.gov.vn","username":"u","password":"********"}`,
			map[string]any{"host": "mail2.example.gov.vn", "password": "old-pass"}},
		{"email",
			`{"host":"mail.example.gov.vn","from":"a@example.gov.vn","username":"u","password":"old-pass"}`,
			`{"host":"mail.example.gov.vn","from":"a@example.gov.vn","username":"u","password":"new-pass"}`,
			map[string]any{"password": "new-pass"}},
		{"telegram",
			`{"bot_token":"123456:AAHdqTcvCH1vGWJx","chat_id":"-1"}`,
			`{"bot_token":"********","chat_id":"-2"}`,
			map[string]any{"bot_token": "123456:AAHdqTcvCH1vGWJx", "chat_id": "-2"}},
		{"webhook",
			`{"url":"https://hook.example.gov.vn/in/abc?token=q","secret":"k","headers":{"Authorization":"Bearer z"}}`,
			`{"url":"https://hook.example.gov.vn/in/********?token=********","secret":"********","headers":{"authorization":"********","X-Team":"soc"}}`,
			map[string]any{"url": "https://hook.example.gov.vn/in/abc?token=q", "secret": "k",
				"headers": map[string]any{"authorization": "Bearer z", "X-Team": "soc"}}},
		{"slack",
			`{"url":"https://hooks.slack.com/services/T1/B2/secret"}`,
			`{"url":"https://hooks.slack.com/services/********","timeout_seconds":5}`,
			map[string]any{"url": "https://hooks.slack.com/services/T1/B2/secret", "timeout_seconds": float64(5)}},
		{"slack",
			`{"url":"https://hooks.slack.com/services/T1/B2/secret"}`,
			`{"url":"https://hooks.slack.com/services/T1/B2/rotated"}`,
			map[string]any{"url": "https://hooks.slack.com/services/T1/B2/rotated"}},
	} {
		// The UI shows the redacted form; sending it back unchanged keeps everything.
		shown, err := Redact(tc.kind, json.RawMessage(tc.stored))
		if err != nil {
			t.Fatal(err)
		}
		same, err := Merge(tc.kind, json.RawMessage(tc.stored), shown)
		if err != nil {
			t.Errorf("Merge(%s, stored, redacted): %v", tc.kind, err)
		} else if _, err := New(tc.kind, same); err != nil {
			t.Errorf("merged %s does not validate: %v", same, err)
		}
		stored, _ := Merge(tc.kind, nil, json.RawMessage(tc.stored))
		if string(same) != string(stored) {
			t.Errorf("round trip through Redact+Merge changed %s into %s", stored, same)
		}

		merged, err := Merge(tc.kind, json.RawMessage(tc.stored), json.RawMessage(tc.edit))
		if err != nil {
			t.Errorf("Merge(%s, %s): %v", tc.kind, tc.edit, err)
			continue
		}
		var got map[string]any
		json.Unmarshal(merged, &got)
		for k, v := range tc.want {
			gb, _ := json.Marshal(got[k])
			wb, _ := json.Marshal(v)
			if string(gb) != string(wb) {
				t.Errorf("Merge(%s, %s): %s = %s, want %s", tc.kind, tc.edit, k, gb, wb)
			}
		}
	}
}

func TestMergeRefusesMaskWithoutStoredSecret(t *testing.T) {
	for _, tc := range []struct{ kind, stored, edit, field string }{
		{"email", ``, `{"host":"h.example","from":"a@h.example","username":"u","password":"********"}`, "password"},
		{"telegram", `{"bot_token":"1:AAHdqTcvCH1vGWJx"}`, `{"bot_token":"1:AAH********"}`, "bot_token"},
		{"webhook", `{"url":"https://a.example/x"}`, `{"url":"https://a.example/x","headers":{"X-Key":"********"}}`, "headers"},
		{"webhook", `{"url":"https://a.example/x/y"}`, `{"url":"https://b.example/x/********"}`, "url"},
		{"slack", ``, `{"url":"https://hooks.slack.com/services/********"}`, "url"},
	} {
		_, err := Merge(tc.kind, json.RawMessage(tc.stored), json.RawMessage(tc.edit))
		var ve *model.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("Merge(%s, %s) = %v; want a validation error on %s", tc.kind, tc.edit, err, tc.field)
		}
	}
}
