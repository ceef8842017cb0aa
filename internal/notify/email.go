package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"canhgac/internal/model"
)

// EmailConfig configures delivery through an SMTP relay (the province's mail
// server, or a provider's submission port).
type EmailConfig struct {
	Host     string `json:"host"`     // relay host name or IP
	Port     int    `json:"port"`     // default 587 (starttls), 465 (tls) or 25 (none)
	Username string `json:"username"` // empty: no AUTH
	Password string `json:"password"` // secret
	From     string `json:"from"`     // e.g. "Canh gác <canhgac@stttt.example.gov.vn>"
	// Security is "starttls" (default: plain connection upgraded with
	// STARTTLS, which the server must offer), "tls" (TLS from the first
	// byte, usually port 465) or "none" (no encryption; only for a relay on
	// this machine or a trusted segment, and never with a password unless
	// the relay is on loopback).
	Security string `json:"security"`
	// SkipVerify accepts any server certificate. It exists for internal
	// relays with self-signed certificates; prefer CAPEM, since skipping
	// verification lets anyone on the path read the password.
	SkipVerify bool `json:"skip_verify"`
	// CAPEM holds PEM certificates trusted in addition to the system roots,
	// for a relay whose certificate comes from the province's own CA.
	CAPEM          string `json:"ca_pem"`
	TimeoutSeconds int    `json:"timeout_seconds"` // whole attempt; default 30
}

func (c *EmailConfig) setDefaults() {
	c.Host = strings.TrimSpace(c.Host)
	c.From = strings.TrimSpace(c.From)
	c.Security = strings.ToLower(strings.TrimSpace(c.Security))
	if c.Security == "" {
		c.Security = "starttls"
	}
	if c.Port == 0 {
		c.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[c.Security]
	}
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = 30
	}
}

func (c *EmailConfig) validate() error {
	if c.Host == "" {
		return model.Invalid("host", "is required")
	}
	if net.ParseIP(c.Host) == nil && !validHostname(c.Host) {
		return model.Invalid("host", "must be a host name or an IP address, without scheme or port")
	}
	switch c.Security {
	case "starttls", "tls", "none":
	default:
		return model.Invalid("security", "must be starttls, tls or none")
	}
	if c.Port < 1 || c.Port > 65535 {
		return model.Invalid("port", "must be between 1 and 65535")
	}
	if c.From == "" {
		return model.Invalid("from", "is required")
	}
	if strings.ContainsAny(c.From, "\r\n") {
		return model.Invalid("from", "must be one line")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return model.Invalid("from", "is not an email address: %v", err)
	}
	if c.Password != "" && c.Username == "" {
		return model.Invalid("username", "is required with a password")
	}
	if strings.ContainsAny(c.Username, "\x00\r\n") || strings.ContainsAny(c.Password, "\x00\r\n") {
		return model.Invalid("username", "user name and password must not contain line breaks or NUL")
	}
	if err := checkSecret("password", c.Password); err != nil {
		return err
	}
	if c.Security == "none" && c.Username != "" && !isLoopback(c.Host) {
		return model.Invalid("security", "none would send the password unencrypted to %s; use starttls or tls", c.Host)
	}
	if c.CAPEM != "" {
		if _, err := certPool(c.CAPEM); err != nil {
			return model.Invalid("ca_pem", "%v", err)
		}
	}
	return checkTimeout(c.TimeoutSeconds)
}

func (c *EmailConfig) redact() {
	if c.Password != "" {
		c.Password = Mask
	}
}

func (c *EmailConfig) keepSecrets(old *EmailConfig) {
	c.Password = keepMasked(c.Password, old.Password)
}

// validHostname accepts DNS names: labels of letters, digits, hyphens and
// underscores separated by dots.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// certPool is the system roots plus the certificates in pemText.
func certPool(pemText string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM([]byte(pemText)) {
		return nil, errors.New("holds no PEM certificate")
	}
	return pool, nil
}

// Email sends notifications by SMTP, one message per recipient.
type Email struct {
	cfg   EmailConfig
	from  *mail.Address
	roots *x509.CertPool // nil: system roots
}

func newEmail(c EmailConfig) *Email {
	e := &Email{cfg: c}
	e.from, _ = mail.ParseAddress(c.From) // validated
	e.from.Name = oneLine(e.from.Name, 60)
	if c.CAPEM != "" {
		e.roots, _ = certPool(c.CAPEM)
	}
	return e
}

// Kind returns "email".
func (e *Email) Kind() string { return "email" }

// Send delivers m to to.Email in one SMTP session. A missing or malformed
// address, failed authentication, a 5xx reply, a server that does not offer
// what the configuration requires (STARTTLS, AUTH) and an unverifiable
// certificate are permanent; 4xx replies (greylisting, "try again later")
// and network failures are temporary. Once the server has accepted the
// message, a failing QUIT is ignored so a retry cannot send it twice.
// The message carries X-Canhgac-Alert when m.AlertID is set, and a
// Message-ID derived from m.DeliveryID (when set) so retries share it.
func (e *Email) Send(ctx context.Context, to Recipient, m Message) error {
	rcpt, err := recipientAddress(to)
	if err != nil {
		return err
	}
	if err := checkDeliveryID(m.DeliveryID); err != nil {
		return err
	}
	m = prepare(to, m)
	msg := e.compose(rcpt, m, time.Now())
	return e.deliver(ctx, rcpt.Address, msg)
}

// recipientAddress checks to.Email; an unusable address is permanent.
func recipientAddress(to Recipient) (*mail.Address, error) {
	addr := strings.TrimSpace(to.Email)
	if addr == "" {
		return nil, permanentf("email: recipient %q has no email address", oneLine(to.Name, 60))
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || strings.ContainsAny(a.Address, "\r\n") {
		return nil, permanentf("email: recipient address %q is not valid", oneLine(addr, 100))
	}
	return &mail.Address{Name: oneLine(to.Name, 60), Address: a.Address}, nil
}

// compose builds the RFC 5322 message: headers with the subject encoded per
// RFC 2047, then the UTF-8 body in quoted-printable, CRLF line endings.
func (e *Email) compose(to *mail.Address, m Message, now time.Time) []byte {
	subject, text := Render(m)
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", e.from.String())
	header("To", to.String())
	header("Subject", encodeHeader(subject))
	header("Date", now.In(vietnam).Format(time.RFC1123Z))
	header("Message-ID", messageID(m.DeliveryID, to.Address, e.from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// Keep out-of-office and vacation robots from answering the duty alias.
	header("Auto-Submitted", "auto-generated")
	header("X-Auto-Response-Suppress", "All")
	if m.AlertID != 0 {
		header("X-Canhgac-Alert", strconv.FormatInt(m.AlertID, 10))
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b) // text mode: turns \n into CRLF
	qp.Write([]byte(text))
	qp.Close()
	return b.Bytes()
}

// messageID makes a Message-ID in the sender's domain. With a delivery id it
// is stable across retries (and distinct per recipient), so a message that
// arrives twice can be recognised; without one it is random.
func messageID(deliveryID, rcpt, from string) string {
	left := randomID()
	if deliveryID != "" {
		sum := sha256.Sum256([]byte(deliveryID + "\x00" + rcpt))
		left = hex.EncodeToString(sum[:16])
	}
	domain := from[strings.LastIndexByte(from, '@')+1:]
	if !validHostname(domain) {
		domain = "canhgac.invalid"
	}
	return "<canhgac." + left + "@" + domain + ">"
}

// maxHeaderRunes bounds any encoded header value.
const maxHeaderRunes = 300

// encodeHeader makes s a safe unstructured header value. The text is cleaned
// by oneLine (so CR, LF and other controls can never start a new header),
// short printable ASCII stays as it is, and anything else becomes RFC 2047
// "B" encoded-words of at most 30 bytes of UTF-8 each (whole runes, so every
// word decodes on its own), one per line, folded with CRLF + space. Every
// line then stays under 78 characters even after "Subject: ".
func encodeHeader(s string) string {
	s = oneLine(s, maxHeaderRunes)
	if len(s) <= 66 && !strings.Contains(s, "=?") && printableASCII(s) {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > 30 {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// errCleartextAuth refuses to send credentials over an unencrypted
// connection to another machine.
var errCleartextAuth = errors.New("refusing to send the password over an unencrypted connection")

// deliver runs one SMTP session: connect (TLS at once for "tls"), EHLO,
// STARTTLS (required for "starttls"), AUTH when a user name is configured,
// MAIL, RCPT, DATA, QUIT; all bounded by ctx and the configured timeout.
func (e *Email) deliver(ctx context.Context, rcpt string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.TimeoutSeconds)*time.Second)
	defer cancel()
	addr := net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("email: connect %s: %w", addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// Cancelling ctx unblocks any read or write in progress.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	err = e.session(ctx, conn, rcpt, msg)
	if err == nil {
		return nil
	}
	if !IsPermanent(err) {
		// The connection's deadline is the context's, and may fire a moment
		// before the context reports it: name the real cause either way.
		cause := ctx.Err()
		if cause == nil && !time.Now().Before(deadline) {
			cause = context.DeadlineExceeded
		}
		if cause != nil {
			return fmt.Errorf("email: %s: %w (%v)", addr, cause, err)
		}
	}
	return classifySMTP(fmt.Errorf("email: %s: %w", addr, err))
}

func (e *Email) session(ctx context.Context, conn net.Conn, rcpt string, msg []byte) error {
	tlsConfig := &tls.Config{
		ServerName:         e.cfg.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: e.cfg.SkipVerify,
		RootCAs:            e.roots,
	}
	if e.cfg.Security == "tls" {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if err := c.Hello(heloName()); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if e.cfg.Security == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanentf("server does not offer STARTTLS; set security to tls or none to match the server")
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if e.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return permanentf("server does not offer AUTH; remove the user name or check host and port")
		}
		auth := chooseAuth(mechs, e.cfg.Username, e.cfg.Password)
		if auth == nil {
			return permanentf("server offers AUTH %s; only PLAIN and LOGIN are supported", mechs)
		}
		if err := c.Auth(auth); err != nil {
			if errors.Is(err, errCleartextAuth) {
				return permanent(err)
			}
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO <%s>: %w", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil { // the server's verdict on the message
		return fmt.Errorf("end of DATA: %w", err)
	}
	c.Quit() // delivered; a failing QUIT must not cause a resend
	return nil
}

// classifySMTP marks 5xx replies and certificate failures permanent.
func classifySMTP(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent(err)
	}
	return classifyNetError(err)
}

// heloName is this machine's name for EHLO; some relays refuse "localhost".
func heloName() string {
	h, err := os.Hostname()
	if err != nil || !validHostname(h) {
		return "localhost"
	}
	return h
}

// chooseAuth picks PLAIN, else LOGIN, from the server's AUTH list.
func chooseAuth(mechs, user, pass string) smtp.Auth {
	var login bool
	for m := range strings.FieldsSeq(strings.ToUpper(mechs)) {
		switch m {
		case "PLAIN":
			return &plainAuth{user: user, pass: pass}
		case "LOGIN":
			login = true
		}
	}
	if login {
		return &loginAuth{user: user, pass: pass}
	}
	return nil
}

// secureEnough allows credentials over TLS, or in clear only to loopback.
func secureEnough(server *smtp.ServerInfo) error {
	if server.TLS || isLoopback(server.Name) {
		return nil
	}
	return errCleartextAuth
}

// plainAuth is AUTH PLAIN (RFC 4616) with an empty authorisation identity.
type plainAuth struct{ user, pass string }

func (a *plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if err := secureEnough(server); err != nil {
		return "", nil, err
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}

// loginAuth is the older AUTH LOGIN: the server asks for the user name,
// then the password, each base64 encoded.
type loginAuth struct {
	user, pass string
	step       int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if err := secureEnough(server); err != nil {
		return "", nil, err
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected AUTH LOGIN challenge")
}
