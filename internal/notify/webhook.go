package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/model"
)

// WebhookConfig configures a generic JSON webhook, for the province's own
// integrations (a ticketing system, a Zalo bridge, a SIEM). The payload and
// signature are described in the package documentation.
type WebhookConfig struct {
	URL string `json:"url"` // http or https; query values are treated as secret
	// Secret keys the HMAC-SHA256 signature in X-Canhgac-Signature. Empty
	// means unsigned requests (the header is then omitted).
	Secret string `json:"secret"`
	// Headers are added to every request, e.g. {"Authorization": "Bearer …"}.
	// Their values are treated as secrets. Content-Type, Content-Length,
	// Host, User-Agent and X-Canhgac-* are set by canhgac and cannot be
	// overridden.
	Headers        map[string]string `json:"headers"`
	TimeoutSeconds int               `json:"timeout_seconds"` // default 10
}

const maxWebhookHeaders = 20

func (c *WebhookConfig) setDefaults() {
	c.URL = strings.TrimSpace(c.URL)
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = int(defaultHTTPTimeout / time.Second)
	}
}

func (c *WebhookConfig) validate() error {
	if err := checkNotRedacted("url", c.URL); err != nil {
		return err
	}
	if _, err := checkHTTPURL("url", c.URL); err != nil {
		return err
	}
	if err := checkSecret("secret", c.Secret); err != nil {
		return err
	}
	if len(c.Headers) > maxWebhookHeaders {
		return model.Invalid("headers", "at most %d headers", maxWebhookHeaders)
	}
	seen := map[string]bool{}
	for name, value := range c.Headers {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !headerToken(name):
			return model.Invalid("headers", "%q is not a valid header name", oneLine(name, 60))
		case reservedHeader(canon):
			return model.Invalid("headers", "%s is set by canhgac and cannot be configured", canon)
		case seen[canon]:
			return model.Invalid("headers", "%s is given twice", canon)
		case len(value) > 4096 || strings.ContainsFunc(value, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }):
			return model.Invalid("headers", "the value of %s must be one line of at most 4096 bytes", canon)
		case value == Mask:
			return model.Invalid("headers", "%s: no stored value to keep; enter it again", canon)
		}
		seen[canon] = true
	}
	return checkTimeout(c.TimeoutSeconds)
}

func (c *WebhookConfig) redact() {
	c.URL = redactURL(c.URL)
	if c.Secret != "" {
		c.Secret = Mask
	}
	for k, v := range c.Headers {
		if v != "" {
			c.Headers[k] = Mask
		}
	}
}

func (c *WebhookConfig) keepSecrets(old *WebhookConfig) {
	c.URL = keepURL(c.URL, old.URL)
	c.Secret = keepMasked(c.Secret, old.Secret)
	for k, v := range c.Headers {
		if v != Mask {
			continue
		}
		for ok, ov := range old.Headers {
			if http.CanonicalHeaderKey(ok) == http.CanonicalHeaderKey(k) {
				c.Headers[k] = ov
			}
		}
	}
}

// headerToken reports whether name is an RFC 9110 token.
func headerToken(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func reservedHeader(canon string) bool {
	switch canon {
	case "Content-Type", "Content-Length", "Content-Encoding", "Host", "User-Agent", "Transfer-Encoding", "Connection", "Te", "Trailer", "Upgrade":
		return true
	}
	return strings.HasPrefix(canon, "X-Canhgac-")
}

// WebhookPayload is the JSON body of every webhook request (version 1). Its
// fields are stable: new fields may be added, none renamed or removed
// without raising Version.
type WebhookPayload struct {
	Version  int      `json:"version"`  // 1
	AlertID  int64    `json:"alert_id"` // 0 for a test
	Severity string   `json:"severity"` // info|low|medium|high|critical
	Title    string   `json:"title"`
	Summary  string   `json:"summary"`
	Asset    string   `json:"asset"`
	Address  string   `json:"address"`
	Agency   string   `json:"agency"`
	Kind     string   `json:"kind"`  // e.g. "webmon.down"
	At       string   `json:"at"`    // RFC 3339 in Vietnam time, e.g. "2025-01-29T02:00:00+07:00"
	Count    int      `json:"count"` // times seen, at least 1
	Link     string   `json:"link"`
	AckLink  string   `json:"ack_link"` // "" when none
	Step     int      `json:"step"`     // escalation step, 0 when not an escalation
	Group    []string `json:"group"`    // [] unless grouped
	Test     bool     `json:"test"`
	Lang     string   `json:"lang"`
	Text     string   `json:"text"` // the whole notification rendered as plain text in Lang
}

// payload builds the version 1 body for m (already prepared).
func payload(m Message) WebhookPayload {
	group := m.Group
	if group == nil {
		group = []string{}
	}
	return WebhookPayload{
		Version:  1,
		AlertID:  m.AlertID,
		Severity: m.Severity,
		Title:    m.Title,
		Summary:  m.Summary,
		Asset:    m.AssetName,
		Address:  m.Address,
		Agency:   m.AgencyName,
		Kind:     m.Kind,
		At:       m.At.In(vietnam).Format(time.RFC3339),
		Count:    max(m.Count, 1),
		Link:     m.Link,
		AckLink:  m.AckLink,
		Step:     m.Step,
		Group:    group,
		Test:     m.Test,
		Lang:     m.Lang,
		Text:     chatText(m),
	}
}

// Webhook posts a signed JSON payload to a URL of the province's choosing.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	safe   string // the URL with secrets masked, for errors
}

func newWebhook(c WebhookConfig) *Webhook {
	return &Webhook{cfg: c, client: newHTTPClient(time.Duration(c.TimeoutSeconds) * time.Second), safe: redactURL(c.URL)}
}

// Kind returns "webhook".
func (w *Webhook) Kind() string { return "webhook" }

// Send posts m as a WebhookPayload. Any 2xx is success; 408, 429 and 5xx are
// temporary, other statuses permanent. to is not used.
func (w *Webhook) Send(ctx context.Context, to Recipient, m Message) error {
	if err := checkDeliveryID(m.DeliveryID); err != nil {
		return err
	}
	m = prepare(to, m)
	body, err := json.Marshal(payload(m))
	if err != nil {
		return permanent(fmt.Errorf("webhook: %w", err))
	}
	delivery := m.DeliveryID
	if delivery == "" {
		delivery = randomID()
	}
	h := http.Header{}
	for k, v := range w.cfg.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Canhgac-Delivery", delivery)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h.Set("X-Canhgac-Timestamp", ts)
	if w.cfg.Secret != "" {
		h.Set("X-Canhgac-Signature", Sign(w.cfg.Secret, ts, body))
	}
	r, err := post(ctx, w.client, "webhook", w.cfg.URL, w.safe, h, body)
	if err != nil {
		return err
	}
	if r.status/100 == 2 {
		return nil
	}
	return statusError("webhook", r)
}

// Sign returns the X-Canhgac-Signature value for a webhook body sent at
// timestamp (the X-Canhgac-Timestamp value, Unix seconds): "sha256=" and the
// hex HMAC-SHA256, keyed with secret, of timestamp + "." + body. Receivers
// recompute it, compare in constant time, and reject timestamps too far from
// their clock so a captured request cannot be replayed later.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
