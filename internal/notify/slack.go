package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SlackConfig configures a Slack or Mattermost incoming webhook. The URL
// itself is the credential (anyone who has it can post), so everything in
// its path after the first segment is treated as secret.
type SlackConfig struct {
	URL            string `json:"url"`             // e.g. https://chat.example.gov.vn/hooks/xxxxxxxx
	TimeoutSeconds int    `json:"timeout_seconds"` // default 10
}

func (c *SlackConfig) setDefaults() {
	c.URL = strings.TrimSpace(c.URL)
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = int(defaultHTTPTimeout / time.Second)
	}
}

func (c *SlackConfig) validate() error {
	if err := checkNotRedacted("url", c.URL); err != nil {
		return err
	}
	if _, err := checkHTTPURL("url", c.URL); err != nil {
		return err
	}
	return checkTimeout(c.TimeoutSeconds)
}

func (c *SlackConfig) redact() { c.URL = redactURL(c.URL) }

func (c *SlackConfig) keepSecrets(old *SlackConfig) { c.URL = keepURL(c.URL, old.URL) }

// Slack posts {"text": …} to a Slack- or Mattermost-compatible incoming
// webhook.
type Slack struct {
	cfg    SlackConfig
	client *http.Client
	safe   string
}

func newSlack(c SlackConfig) *Slack {
	return &Slack{cfg: c, client: newHTTPClient(time.Duration(c.TimeoutSeconds) * time.Second), safe: redactURL(c.URL)}
}

// Kind returns "slack".
func (s *Slack) Kind() string { return "slack" }

// slackEscaper escapes the three characters Slack reserves for its own
// markup (<url|label>, <@user>); Mattermost reads the same entities back.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Send posts m as plain text. Any 2xx is success; 408, 429 and 5xx are
// temporary, other statuses permanent (Slack answers 404 no_service or 410
// channel_is_archived when the hook is gone). to is not used.
func (s *Slack) Send(ctx context.Context, to Recipient, m Message) error {
	m = prepare(to, m)
	body, err := json.Marshal(map[string]string{"text": slackEscaper.Replace(chatText(m))})
	if err != nil {
		return permanent(fmt.Errorf("slack: %w", err))
	}
	r, err := post(ctx, s.client, "slack", s.cfg.URL, s.safe, http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return err
	}
	if r.status/100 == 2 {
		return nil
	}
	return statusError("slack", r)
}
