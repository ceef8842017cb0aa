package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"canhgac/internal/model"
)

// TelegramConfig configures a Telegram bot. Create the bot with @BotFather,
// add it to the duty team's group (or have each officer start a chat with
// it) and put the group's chat id here or each user's in their profile.
type TelegramConfig struct {
	// BaseURL is the Bot API server, https://api.telegram.org by default.
	// A self-hosted Bot API server may be used; plain http is accepted only
	// on loopback, because the bot token travels in the URL.
	BaseURL        string `json:"base_url"`
	BotToken       string `json:"bot_token"`       // secret, "123456789:AA…"
	ChatID         string `json:"chat_id"`         // default chat: numeric id (groups are negative) or @channelname
	TimeoutSeconds int    `json:"timeout_seconds"` // default 10
}

const defaultTelegramURL = "https://api.telegram.org"

var (
	telegramToken = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{10,100}$`)
	telegramChat  = regexp.MustCompile(`^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$`)
)

func (c *TelegramConfig) setDefaults() {
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	if c.BaseURL == "" {
		c.BaseURL = defaultTelegramURL
	}
	c.BotToken = strings.TrimSpace(c.BotToken)
	c.ChatID = strings.TrimSpace(c.ChatID)
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = int(defaultHTTPTimeout / time.Second)
	}
}

func (c *TelegramConfig) validate() error {
	u, err := checkHTTPURL("base_url", c.BaseURL)
	if err != nil {
		return err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return model.Invalid("base_url", "must not have a query")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return model.Invalid("base_url", "must use https: the bot token is part of every request")
	}
	if c.BotToken == "" {
		return model.Invalid("bot_token", "is required")
	}
	if err := checkSecret("bot_token", c.BotToken); err != nil {
		return err
	}
	if !telegramToken.MatchString(c.BotToken) {
		return model.Invalid("bot_token", "does not look like a bot token from @BotFather (digits, a colon, then letters)")
	}
	if c.ChatID != "" && !telegramChat.MatchString(c.ChatID) {
		return model.Invalid("chat_id", "must be a numeric chat id (groups start with -) or @channelname")
	}
	return checkTimeout(c.TimeoutSeconds)
}

func (c *TelegramConfig) redact() {
	if c.BotToken != "" {
		c.BotToken = Mask
	}
}

func (c *TelegramConfig) keepSecrets(old *TelegramConfig) {
	c.BotToken = keepMasked(c.BotToken, old.BotToken)
}

// Telegram sends plain-text messages through a bot (sendMessage). Plain text
// needs no escaping, so nothing a detector puts in a title can change how a
// message is displayed.
type Telegram struct {
	cfg    TelegramConfig
	client *http.Client
}

func newTelegram(c TelegramConfig) *Telegram {
	return &Telegram{cfg: c, client: newHTTPClient(time.Duration(c.TimeoutSeconds) * time.Second)}
}

// Kind returns "telegram".
func (t *Telegram) Kind() string { return "telegram" }

// maxTelegramText is Telegram's limit on a message, in UTF-16 code units.
const maxTelegramText = 4096

// telegramAnswer is the Bot API's reply envelope.
type telegramAnswer struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// Send posts m to the recipient's chat (Recipient.TelegramChatID) or the
// channel's default chat. Telegram's 429 carries parameters.retry_after,
// exposed through RetryAfter; 400 (chat not found), 401 (bad token) and 403
// (bot blocked or removed from the group) are permanent. Errors never
// contain the bot token.
func (t *Telegram) Send(ctx context.Context, to Recipient, m Message) error {
	chat := strings.TrimSpace(to.TelegramChatID)
	if chat == "" {
		chat = t.cfg.ChatID
	}
	if chat == "" {
		return permanentf("telegram: %q has no Telegram chat id and the channel has no default chat_id", oneLine(to.Name, 60))
	}
	if !telegramChat.MatchString(chat) {
		return permanentf("telegram: chat id %q is not valid", oneLine(chat, 40))
	}
	chatJSON, _ := json.Marshal(chat)
	if chat[0] != '@' {
		chatJSON = []byte(chat) // numeric ids go as JSON numbers
	}
	m = prepare(to, m)
	body, err := json.Marshal(struct {
		ChatID                json.RawMessage `json:"chat_id"`
		Text                  string          `json:"text"`
		DisableWebPagePreview bool            `json:"disable_web_page_preview"`
	}{chatJSON, truncateUTF16(chatText(m), maxTelegramText), true})
	if err != nil {
		return permanent(fmt.Errorf("telegram: %w", err))
	}
	endpoint := t.cfg.BaseURL + "/bot" + url.PathEscape(t.cfg.BotToken) + "/sendMessage"
	safe := t.cfg.BaseURL + "/bot" + Mask + "/sendMessage"
	r, err := post(ctx, t.client, "telegram", endpoint, safe, http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return t.scrub(err)
	}
	var ans telegramAnswer
	jsonErr := json.Unmarshal(r.body, &ans)
	if r.status/100 == 2 && jsonErr == nil && ans.OK {
		return nil
	}
	if jsonErr != nil || ans.ErrorCode == 0 {
		// Not the Bot API speaking (a proxy, a captive portal): go by status.
		if r.status/100 == 2 {
			return fmt.Errorf("telegram: status %d with an unreadable answer: %s", r.status, t.redact(describe(r.body)))
		}
		return t.scrub(statusError("telegram", r))
	}
	s := &StatusError{Channel: "telegram", Code: ans.ErrorCode, Description: t.redact(oneLine(ans.Description, maxDescription))}
	if ans.Parameters.RetryAfter > 0 {
		s.RetryAfter = min(time.Duration(ans.Parameters.RetryAfter)*time.Second, 24*time.Hour)
	} else if ans.ErrorCode == http.StatusTooManyRequests {
		s.RetryAfter = parseRetryAfter(r.header.Get("Retry-After"), time.Now())
	}
	if id := ans.Parameters.MigrateToChatID; id != 0 {
		s.Description += fmt.Sprintf("; the group became a supergroup, set its new chat id %d", id)
	}
	return classifyStatus(s)
}

// redact removes the bot token from text that came back from the network.
func (t *Telegram) redact(s string) string {
	return strings.ReplaceAll(s, t.cfg.BotToken, Mask)
}

// scrub guarantees the token is absent from err's text, even if some layer
// below echoed the URL. If it had to rewrite the text, the cause is kept only
// as text and classification.
func (t *Telegram) scrub(err error) error {
	if !strings.Contains(err.Error(), t.cfg.BotToken) {
		return err
	}
	clean := fmt.Errorf("%s", t.redact(err.Error()))
	if IsPermanent(err) {
		return permanent(clean)
	}
	return clean
}

// truncateUTF16 cuts s to at most limit UTF-16 code units (how Telegram
// counts), ending with "…" when cut.
func truncateUTF16(s string, limit int) string {
	if len(utf16.Encode([]rune(s))) <= limit {
		return s
	}
	n := 0
	for i, r := range s {
		w := max(utf16.RuneLen(r), 1)
		if n+w > limit-1 { // leave room for the ellipsis
			return s[:i] + "…"
		}
		n += w
	}
	return s
}
