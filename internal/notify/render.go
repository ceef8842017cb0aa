package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"canhgac/internal/i18n"
)

// vietnam is Asia/Ho_Chi_Minh. Vietnam has kept UTC+7 without daylight
// saving since 1975, so a fixed zone is exact and needs no tzdata on the host.
var vietnam = time.FixedZone("ICT", 7*60*60)

// TimeLayout is how times appear in notifications, in Vietnam's time zone:
// "02:00 29/01/2025".
const TimeLayout = "15:04 02/01/2006"

// Limits that keep one notification readable and within providers' sizes.
const (
	maxGroupLines   = 50   // group lines shown before "and N more"
	maxTitleRunes   = 200  // title in the subject
	maxLineRunes    = 500  // any other one-line field
	maxSummaryRunes = 2000 // the summary, which may span lines
)

// Severities are the alert severities, most severe first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// Render turns m into a subject line and a plain-text body in m.Lang
// (Vietnamese when empty or unknown). The body carries everything a duty
// officer needs without opening canhgac: severity, asset, address, agency,
// what happened, the time in Vietnam, how often it was seen, the escalation
// step, the grouped alerts (at most 50 lines), the link and the
// acknowledgement link. Text from detectors may be attacker-influenced (a
// defaced page's title), so control and bidi characters are removed and
// every field is bounded; the subject never contains a line break.
func Render(m Message) (subject, text string) {
	lang := m.Lang
	if !i18n.Supported(lang) {
		lang = i18n.Default
	}
	t := func(key string, args ...any) string { return i18n.T(lang, key, args...) }

	severity := severityLabel(lang, m.Severity)
	title := oneLine(m.Title, maxTitleRunes)
	if title == "" {
		if m.Test {
			title = t("notify.test_title")
		} else {
			title = t("notify.untitled")
		}
	}
	asset := oneLine(m.AssetName, maxLineRunes)

	subject = title
	if severity != "" {
		subject = t("notify.subject", severity, title)
	}
	if asset != "" && !strings.Contains(title, asset) {
		subject += " — " + truncate(asset, 100)
	}
	if m.Count > 1 {
		subject += " " + t("notify.subject_count", m.Count)
	}
	if m.Step > 0 {
		subject += " " + t("notify.subject_step", m.Step)
	}
	if m.Test {
		subject = t("notify.subject_test", subject)
	}

	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	if m.Test {
		line(t("notify.test_body"))
		line("")
	}
	if s := multiLine(m.Summary, maxSummaryRunes); s != "" {
		line(s)
		line("")
	}
	if severity != "" {
		line(t("notify.line.severity", severity))
	}
	if asset != "" {
		line(t("notify.line.asset", asset))
	}
	if s := oneLine(m.Address, maxLineRunes); s != "" {
		line(t("notify.line.address", s))
	}
	if s := oneLine(m.AgencyName, maxLineRunes); s != "" {
		line(t("notify.line.agency", s))
	}
	if !m.At.IsZero() {
		line(t("notify.line.time", m.At.In(vietnam).Format(TimeLayout)))
	}
	if m.Count > 1 {
		line(t("notify.line.count", m.Count))
	}
	if m.Step > 0 {
		line(t("notify.line.step", m.Step))
	}
	if m.AlertID != 0 {
		id := fmt.Sprintf("#%d", m.AlertID)
		if k := oneLine(m.Kind, 100); k != "" {
			id += " (" + k + ")"
		}
		line(t("notify.line.alert", id))
	}
	if len(m.Group) > 0 {
		line("")
		line(t("notify.line.group", len(m.Group)))
		for i, g := range m.Group {
			if i == maxGroupLines {
				line(t("notify.line.group_more", len(m.Group)-maxGroupLines))
				break
			}
			line("• " + oneLine(g, maxLineRunes))
		}
	}
	link, ack := oneLine(m.Link, maxLineRunes), oneLine(m.AckLink, maxLineRunes)
	if link != "" || ack != "" {
		line("")
	}
	if link != "" {
		line(t("notify.line.link", link))
	}
	if ack != "" {
		line(t("notify.line.ack", ack))
	}
	line("")
	line("—")
	b.WriteString(t("notify.footer"))
	b.WriteByte('\n')
	return subject, b.String()
}

// severityLabel is the severity's name in lang; an unknown severity is shown
// as given, and an empty one stays empty.
func severityLabel(lang, severity string) string {
	for _, s := range Severities {
		if s == severity {
			return i18n.T(lang, "notify.severity."+s)
		}
	}
	return oneLine(severity, 40)
}

// unsafeRune reports runes that must not reach a notification: control
// characters (line breaks included), Unicode line and paragraph separators,
// and bidirectional overrides that could make text read differently from
// what it is.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true
	}
	return false
}

// oneLine makes s a single clean line: invalid UTF-8 becomes U+FFFD, unsafe
// runes become spaces, runs of white space collapse to one space, and the
// result is cut to max runes with an ellipsis.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return truncate(strings.Join(strings.Fields(s), " "), max)
}

// multiLine is oneLine for text that may keep its line breaks: each line is
// cleaned, blank runs collapse to one blank line, and the whole is bounded.
func multiLine(s string, max int) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		l = oneLine(l, max)
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return truncate(strings.Join(out, "\n"), max)
}

// truncate cuts s to at most max runes, ending with "…" when cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return strings.TrimRight(s[:i], " ") + "…"
		}
		n++
	}
	return s
}
