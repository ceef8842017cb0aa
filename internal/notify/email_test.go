package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/notify/smtptest"
)

// tetAlert is a realistic alert: a provincial department's portal defaced
// in the small hours of the second day of Tết 2025.
func tetAlert() Message {
	return Message{
		Severity:   "critical",
		Title:      "Website bị thay đổi giao diện",
		Summary:    "Trang chủ chứa nội dung lạ: \"Hacked by X\".\n.\n..dòng bắt đầu bằng dấu chấm",
		AssetName:  "Cổng TTĐT Sở Y tế",
		Address:    "https://syt.example.gov.vn",
		AgencyName: "Sở Y tế",
		Kind:       "webmon.defaced",
		At:         time.Date(2025, 1, 28, 19, 0, 0, 0, time.UTC), // 02:00 29/01 in Vietnam
		Count:      3,
		Link:       "https://canhgac.example.gov.vn/alerts/42",
		AckLink:    "https://canhgac.example.gov.vn/ack/42?t=abc",
		AlertID:    42,
	}
}

var duty = Recipient{UserID: 7, Name: "Nguyễn Văn An", Email: "an.nv@stttt.example.gov.vn", TelegramChatID: "123456789"}

// emailChannel builds an email channel for srv through New, as the alert
// pipeline would.
func emailChannel(t *testing.T, srv *smtptest.Server, cfg map[string]any) Channel {
	t.Helper()
	base := map[string]any{
		"host": srv.Host, "port": srv.Port,
		"from":            "Canh gác <canhgac@stttt.example.gov.vn>",
		"ca_pem":          srv.CertPEM,
		"timeout_seconds": 5,
	}
	for k, v := range cfg {
		base[k] = v
	}
	raw, _ := json.Marshal(base)
	ch, err := New("email", raw)
	if err != nil {
		t.Fatalf("New(email): %v", err)
	}
	return ch
}

// parsed is a received message decoded the way a mail client would.
type parsed struct {
	header  mail.Header
	subject string
	body    string
}

func parseMail(t *testing.T, data []byte) parsed {
	t.Helper()
	for i, line := range strings.Split(string(data), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i, line)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Fatalf("Content-Type = %q", msg.Header.Get("Content-Type"))
	}
	var r io.Reader = msg.Body
	switch cte := msg.Header.Get("Content-Transfer-Encoding"); cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	default:
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return parsed{header: msg.Header, subject: subject, body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}

func TestEmailDeliversVietnameseAlertOverSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{Username: "canhgac", Password: "mật-khẩu đúng"})
	defer srv.Close()
	ch := emailChannel(t, srv, map[string]any{"username": "canhgac", "password": "mật-khẩu đúng", "security": "starttls"})

	m := tetAlert()
	m.DeliveryID = "outbox-981"
	if err := ch.Send(context.Background(), duty, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server accepted %d messages, want 1", len(got))
	}
	rec := got[0]
	if !rec.TLS || rec.AuthUser != "canhgac" || rec.AuthMech != "PLAIN" {
		t.Errorf("session TLS=%v user=%q mech=%q; want TLS, canhgac, PLAIN", rec.TLS, rec.AuthUser, rec.AuthMech)
	}
	if rec.From != "canhgac@stttt.example.gov.vn" || len(rec.To) != 1 || rec.To[0] != duty.Email {
		t.Errorf("envelope from %q to %q", rec.From, rec.To)
	}

	p := parseMail(t, rec.Data)
	for _, want := range []string{"Nghiêm trọng", "Website bị thay đổi giao diện", "Cổng TTĐT Sở Y tế", "(×3)"} {
		if !strings.Contains(p.subject, want) {
			t.Errorf("subject %q lacks %q", p.subject, want)
		}
	}
	for _, want := range []string{
		"Tài sản: Cổng TTĐT Sở Y tế",
		"Địa chỉ: https://syt.example.gov.vn",
		"Cơ quan, đơn vị: Sở Y tế",
		"Thời điểm: 02:00 29/01/2025",
		"Chi tiết: https://canhgac.example.gov.vn/alerts/42",
		"Xác nhận đã nhận: https://canhgac.example.gov.vn/ack/42?t=abc",
		"\n.\n..dòng bắt đầu bằng dấu chấm\n", // survived dot-stuffing both ways
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("body lacks %q:\n%s", want, p.body)
		}
	}
	from, err := mail.ParseAddress(p.header.Get("From"))
	if err != nil || from.Name != "Canh gác" || from.Address != "canhgac@stttt.example.gov.vn" {
		t.Errorf("From %q → %v, %v", p.header.Get("From"), from, err)
	}
	to, err := mail.ParseAddress(p.header.Get("To"))
	if err != nil || to.Name != duty.Name || to.Address != duty.Email {
		t.Errorf("To %q → %v, %v", p.header.Get("To"), to, err)
	}
	if _, err := p.header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	for name, want := range map[string]string{
		"X-Canhgac-Alert": "42", "Auto-Submitted": "auto-generated", "MIME-Version": "1.0",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	id := p.header.Get("Message-ID")
	if !strings.HasPrefix(id, "<canhgac.") || !strings.HasSuffix(id, "@stttt.example.gov.vn>") {
		t.Errorf("Message-ID = %q", id)
	}

	// A retry of the same delivery carries the same Message-ID.
	if err := ch.Send(context.Background(), duty, m); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	if again := parseMail(t, srv.Messages()[1].Data).header.Get("Message-ID"); again != id {
		t.Errorf("retry Message-ID %q differs from %q", again, id)
	}
}

func TestEmailAuthLoginWhenServerOffersOnlyLogin(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{Username: "u", Password: "p", AuthMechs: "LOGIN"})
	defer srv.Close()
	ch := emailChannel(t, srv, map[string]any{"username": "u", "password": "p"})
	if err := ch.Send(context.Background(), duty, tetAlert()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].AuthMech != "LOGIN" {
		t.Fatalf("messages %+v, want one authenticated with LOGIN", got)
	}
}

func TestEmailWrongPasswordIsPermanent(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{Username: "canhgac", Password: "right"})
	defer srv.Close()
	ch := emailChannel(t, srv, map[string]any{"username": "canhgac", "password": "wrong"})
	err := ch.Send(context.Background(), duty, tetAlert())
	if err == nil || !IsPermanent(err) {
		t.Fatalf("Send with a wrong password = %v; want a permanent error", err)
	}
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("error %q does not carry the server's 535", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestEmailServerRepliesAreClassified(t *testing.T) {
	for _, tc := range []struct {
		fail      map[string]string
		permanent bool
	}{
		{map[string]string{"MAIL": "451 4.7.1 Greylisted, try again in 5 minutes"}, false},
		{map[string]string{"RCPT": "452 4.2.2 Mailbox full"}, false},
		{map[string]string{"DATA": "421 4.3.0 Shutting down"}, false},
		{map[string]string{"RCPT": "550 5.1.1 No such user"}, true},
		{map[string]string{"DATA": "554 5.7.1 Rejected as spam"}, true},
	} {
		srv := smtptest.NewServer(smtptest.Options{Fail: tc.fail})
		ch := emailChannel(t, srv, nil)
		err := ch.Send(context.Background(), duty, tetAlert())
		srv.Close()
		if err == nil {
			t.Errorf("%v: Send succeeded", tc.fail)
			continue
		}
		if IsPermanent(err) != tc.permanent {
			t.Errorf("%v: IsPermanent(%v) = %v, want %v", tc.fail, err, IsPermanent(err), tc.permanent)
		}
	}
}

func TestEmailImplicitTLS(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{ImplicitTLS: true, Username: "u", Password: "p"})
	defer srv.Close()
	ch := emailChannel(t, srv, map[string]any{"security": "tls", "username": "u", "password": "p"})
	if err := ch.Send(context.Background(), duty, tetAlert()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS || got[0].AuthUser != "u" {
		t.Fatalf("messages %+v, want one over TLS authenticated as u", got)
	}
}

// "tls" against a server that expects STARTTLS (port 587 configured as 465)
// cannot work until someone fixes the configuration.
func TestEmailImplicitTLSAgainstPlainServerIsPermanent(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{})
	defer srv.Close()
	err := emailChannel(t, srv, map[string]any{"security": "tls"}).Send(context.Background(), duty, tetAlert())
	if !IsPermanent(err) {
		t.Fatalf("tls to a plain SMTP port = %v; want permanent", err)
	}
}

func TestEmailCertificateVerification(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{})
	defer srv.Close()

	// Without the relay's CA the self-signed certificate does not verify:
	// permanent, since only a configuration change can fix it.
	ch := emailChannel(t, srv, map[string]any{"ca_pem": ""})
	err := ch.Send(context.Background(), duty, tetAlert())
	if err == nil || !IsPermanent(err) {
		t.Fatalf("Send to an untrusted certificate = %v; want a permanent error", err)
	}
	// skip_verify is the escape hatch for internal relays.
	ch = emailChannel(t, srv, map[string]any{"ca_pem": "", "skip_verify": true})
	if err := ch.Send(context.Background(), duty, tetAlert()); err != nil {
		t.Fatalf("Send with skip_verify: %v", err)
	}
	if len(srv.Messages()) != 1 {
		t.Fatalf("want exactly the skip_verify message delivered, got %d", len(srv.Messages()))
	}
}

func TestEmailNeverSendsPasswordInClear(t *testing.T) {
	// New refuses "none" with a password to another machine.
	_, err := New("email", json.RawMessage(`{"host":"mail.example.gov.vn","from":"a@example.gov.vn","security":"none","username":"u","password":"p"}`))
	var ve *model.ValidationError
	if !errors.As(err, &ve) || ve.Field != "security" {
		t.Fatalf("New(none + password to a remote host) = %v; want a validation error on security", err)
	}
	// The AUTH mechanisms themselves refuse too, whatever the configuration.
	for _, a := range []smtp.Auth{&plainAuth{user: "u", pass: "p"}, &loginAuth{user: "u", pass: "p"}} {
		if _, _, err := a.Start(&smtp.ServerInfo{Name: "mail.example.gov.vn", TLS: false}); !errors.Is(err, errCleartextAuth) {
			t.Errorf("%T.Start over cleartext to a remote host = %v", a, err)
		}
		if _, _, err := a.Start(&smtp.ServerInfo{Name: "mail.example.gov.vn", TLS: true}); err != nil {
			t.Errorf("%T.Start over TLS = %v", a, err)
		}
	}

	// On loopback (a local relay) cleartext AUTH is allowed.
	srv := smtptest.NewServer(smtptest.Options{Username: "u", Password: "p"})
	defer srv.Close()
	ch := emailChannel(t, srv, map[string]any{"security": "none", "username": "u", "password": "p"})
	if err := ch.Send(context.Background(), duty, tetAlert()); err != nil {
		t.Fatalf("Send to a loopback relay without TLS: %v", err)
	}

	// starttls mode against a server that does not offer it stops before AUTH.
	plain := smtptest.NewServer(smtptest.Options{NoSTARTTLS: true})
	defer plain.Close()
	ch = emailChannel(t, plain, map[string]any{"username": "u", "password": "p"})
	err = ch.Send(context.Background(), duty, tetAlert())
	if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("starttls without server support = %v; want a permanent STARTTLS error", err)
	}
	if len(plain.Messages()) != 0 {
		t.Fatalf("a message was sent without TLS")
	}
}

func TestEmailRecipientWithoutAddressIsPermanent(t *testing.T) {
	srv := smtptest.NewServer(smtptest.Options{})
	defer srv.Close()
	ch := emailChannel(t, srv, nil)
	for _, addr := range []string{"", "not an address", "a@b\r\nBcc: x@y"} {
		err := ch.Send(context.Background(), Recipient{Name: "Trực ban", Email: addr}, tetAlert())
		if !IsPermanent(err) {
			t.Errorf("Send to %q = %v; want permanent", addr, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages sent to bad addresses", n)
	}
}

func TestEmailNetworkFailuresAreTemporary(t *testing.T) {
	// Nothing listens: connection refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ch, err := New("email", json.RawMessage(`{"host":"127.0.0.1","port":`+strconv.Itoa(port)+`,"from":"a@example.gov.vn","security":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), duty, tetAlert()); err == nil || IsPermanent(err) {
		t.Errorf("Send to a closed port = %v; want a temporary error", err)
	}

	// A server that accepts and never speaks: the context bounds the attempt.
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ch, _ = New("email", json.RawMessage(`{"host":"127.0.0.1","port":`+strconv.Itoa(silent.Addr().(*net.TCPAddr).Port)+`,"from":"a@example.gov.vn","security":"none"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = ch.Send(ctx, duty, tetAlert())
	if err == nil || IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send to a silent server = %v; want a temporary deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send ignored the context deadline for %v", d)
	}
}
