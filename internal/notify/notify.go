package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"time"

	"canhgac/internal/i18n"
	"canhgac/internal/model"
)

// Message is one notification, already decided: who, what, in which language.
// Channels render it; they do not decide whether or to whom it goes.
type Message struct {
	Lang       string    // "vi" (default) or "en"; empty falls back to the recipient's language
	Severity   string    // info|low|medium|high|critical
	Title      string    // e.g. "Website không truy cập được", human text from the detector
	Summary    string    // what happened, one or two lines
	AssetName  string    // the asset's name as the agency knows it
	Address    string    // URL or host of the asset
	AgencyName string    // the agency (cơ quan) that owns the asset
	Kind       string    // alert kind, e.g. "webmon.down"
	At         time.Time // when the alert fired; zero means "now" at send time
	Count      int       // times seen (deduplicated); >1 is shown as "(×N)"
	Link       string    // absolute URL of the alert page in canhgac
	AckLink    string    // absolute signed one-time acknowledgement URL; empty = none
	AlertID    int64     // the alert's id; 0 for a test message
	Step       int       // escalation step number (1-based), 0 if not an escalation
	Group      []string  // a grouped notification: one line per alert; Title then summarises the group
	Test       bool      // a "send test" from the channel page
	// DeliveryID identifies this notification across retries: the outbox
	// passes the same value on every attempt so receivers can deduplicate.
	// The webhook sends it as X-Canhgac-Delivery and email uses it in the
	// Message-ID. Letters, digits and ._:- only, at most 128 bytes; empty
	// means a fresh random id per attempt.
	DeliveryID string
}

// Recipient is a person (or a group address) to notify.
type Recipient struct {
	UserID         int64
	Name           string
	Email          string
	TelegramChatID string // overrides the Telegram channel's default chat
	Lang           string // used only when Message.Lang is empty
}

// Channel delivers messages through one provider. Send makes exactly one
// attempt, bounded by ctx and the channel's timeout; the caller (the alert
// outbox) retries temporary failures and gives up on *PermanentError.
//
// Email and Telegram address the recipient (Recipient.Email,
// Recipient.TelegramChatID); webhook and slack post to their fixed URL and
// ignore to, so callers should send to them once per notification, not once
// per person.
type Channel interface {
	Kind() string
	Send(ctx context.Context, to Recipient, m Message) error
}

// Mask replaces secrets in configurations shown to users. An update that
// sends Mask for a secret keeps the stored one (see Merge).
const Mask = "********"

// Kinds are the channel kinds New accepts.
var Kinds = []string{"email", "telegram", "webhook", "slack"}

// kind is what the package knows about one channel kind's configuration.
type kind struct {
	newChannel func(raw json.RawMessage) (Channel, error)
	redact     func(raw json.RawMessage) (json.RawMessage, error)
	merge      func(old, updated json.RawMessage) (json.RawMessage, error)
}

var kinds = map[string]kind{
	"email":    kindOf(func(c *EmailConfig) Channel { return newEmail(*c) }),
	"telegram": kindOf(func(c *TelegramConfig) Channel { return newTelegram(*c) }),
	"webhook":  kindOf(func(c *WebhookConfig) Channel { return newWebhook(*c) }),
	"slack":    kindOf(func(c *SlackConfig) Channel { return newSlack(*c) }),
}

// errZalo explains why there is no Zalo channel; see the package documentation.
const errZalo = "Zalo is not provided: it needs an Official Account verified for an organisation and message templates pre-approved by Zalo (ZNS), which a province's IT staff cannot set up alone or test offline; use Telegram, email or a webhook to your own Zalo integration"

func lookup(k string) (kind, error) {
	if k == "zalo" {
		return kind{}, model.Invalid("kind", errZalo)
	}
	spec, ok := kinds[k]
	if !ok {
		return kind{}, model.Invalid("kind", "unknown channel kind %q (known: %s)", k, strings.Join(Kinds, ", "))
	}
	return spec, nil
}

// New builds a channel of the given kind from its JSON configuration. The
// configuration is decoded strictly (unknown fields are refused) and
// validated; problems come back as *model.ValidationError naming the field.
func New(kind string, config json.RawMessage) (Channel, error) {
	spec, err := lookup(kind)
	if err != nil {
		return nil, err
	}
	return spec.newChannel(config)
}

// Redact returns config with its defaults filled in and every secret
// (passwords, bot tokens, webhook secrets and header values, the secret part
// of Slack and webhook URLs) replaced by Mask, for showing in the UI and API.
// Empty secrets stay empty so the UI can tell "set" from "not set".
func Redact(kind string, config json.RawMessage) (json.RawMessage, error) {
	spec, err := lookup(kind)
	if err != nil {
		return nil, err
	}
	return spec.redact(config)
}

// Merge applies an update to a stored configuration: wherever updated holds
// Mask (or, for URLs, exactly the redacted form of the stored URL), the
// stored secret is kept. The result is validated and has defaults filled in.
// old may be empty when a channel is created.
func Merge(kind string, old, updated json.RawMessage) (json.RawMessage, error) {
	spec, err := lookup(kind)
	if err != nil {
		return nil, err
	}
	return spec.merge(old, updated)
}

// configOf is what each provider's configuration type provides.
type configOf[T any] interface {
	*T
	setDefaults()
	validate() error
	redact()            // replace secrets by Mask, in place
	keepSecrets(old *T) // where the receiver holds a masked secret, take old's
}

func kindOf[T any, P configOf[T]](build func(P) Channel) kind {
	decode := func(raw json.RawMessage) (P, error) {
		c := P(new(T))
		if err := decodeStrict(raw, c); err != nil {
			return nil, err
		}
		c.setDefaults()
		return c, nil
	}
	return kind{
		newChannel: func(raw json.RawMessage) (Channel, error) {
			c, err := decode(raw)
			if err != nil {
				return nil, err
			}
			if err := c.validate(); err != nil {
				return nil, err
			}
			return build(c), nil
		},
		redact: func(raw json.RawMessage) (json.RawMessage, error) {
			c, err := decode(raw)
			if err != nil {
				return nil, err
			}
			c.redact()
			return json.Marshal(c)
		},
		merge: func(old, updated json.RawMessage) (json.RawMessage, error) {
			prev, err := decode(old)
			if err != nil {
				return nil, fmt.Errorf("stored configuration: %w", err)
			}
			c, err := decode(updated)
			if err != nil {
				return nil, err
			}
			c.keepSecrets(prev)
			if err := c.validate(); err != nil {
				return nil, err
			}
			return json.Marshal(c)
		},
	}
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data. Empty input and null mean an empty configuration.
func decodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return model.Invalid("config", "unexpected data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return model.Invalid("config", "must be a JSON object")
		}
		return model.Invalid(field, "must be %s", jsonType(typeErr.Type))
	case errors.As(err, &syntaxErr):
		return model.Invalid("config", "malformed JSON at byte %d", syntaxErr.Offset)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return model.Invalid("config", "unknown field %s", name)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return model.Invalid("config", "truncated JSON")
	}
	return model.Invalid("config", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// checkSecret refuses a secret that is still the mask, which means an
// update asked to keep a secret that was never stored.
func checkSecret(field, v string) error {
	if v == Mask {
		return model.Invalid(field, "no stored value to keep; enter it again")
	}
	return nil
}

// keepMasked returns old when v is the mask and there is an old value, else
// v (so a mask with nothing to keep is left for validation to refuse).
func keepMasked(v, old string) string {
	if v == Mask && old != "" {
		return old
	}
	return v
}

// checkTimeout validates timeout_seconds after defaults: 1 to 120 seconds.
func checkTimeout(seconds int) error {
	if seconds < 1 || seconds > 120 {
		return model.Invalid("timeout_seconds", "must be between 1 and 120")
	}
	return nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP. Such traffic never leaves the machine, so cleartext is
// acceptable there.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// prepare fills in what a Message may leave empty: the language (from the
// recipient, then Vietnamese) and the time.
func prepare(to Recipient, m Message) Message {
	if !i18n.Supported(m.Lang) {
		m.Lang = to.Lang
		if !i18n.Supported(m.Lang) {
			m.Lang = i18n.Default
		}
	}
	if m.At.IsZero() {
		m.At = time.Now()
	}
	return m
}

// chatText is the rendered message as one block for chat-like channels:
// the subject line, a blank line, then the body.
func chatText(m Message) string {
	subject, text := Render(m)
	return subject + "\n\n" + text
}

// maxDeliveryID bounds Message.DeliveryID.
const maxDeliveryID = 128

// checkDeliveryID refuses a delivery id that could not travel in a header.
// It is the caller's bug, so the error is permanent.
func checkDeliveryID(id string) error {
	if len(id) > maxDeliveryID {
		return permanentf("delivery id longer than %d bytes", maxDeliveryID)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-') {
			return permanentf("delivery id %q: only letters, digits and ._:- are allowed", oneLine(id, 40))
		}
	}
	return nil
}

// randomID returns 16 random bytes in hex.
func randomID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}
