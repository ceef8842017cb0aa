package oncall

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// icsMargin is how far beyond the export window ICS looks for the true start
// and end of the shifts cut by the window, so that a shift in progress keeps
// its real DTSTART (and hence its UID) whichever window is exported. It
// matches the longest override.
const icsMargin = MaxOverride

// ICS writes the shifts overlapping [from, to) as an RFC 5545 iCalendar
// feed: one VEVENT per shift, with times in UTC and SUMMARY "Trực: " (on
// duty) followed by the users' names from names, or "#<id>" for users not in
// it. A shift running across from or to is exported whole (up to 62 days
// beyond the window). Each UID is derived from the schedule ID, the shift's
// start and its users, so re-exporting gives calendar clients the same
// events. uidDomain is the right-hand side of the UIDs, "canhgac" if empty.
func (s *Schedule) ICS(w io.Writer, from, to time.Time, names map[int64]string, uidDomain string) error {
	if uidDomain == "" {
		uidDomain = "canhgac"
	}
	stamp := time.Now().UTC().Format(icsTime)
	bw := bufio.NewWriter(w)
	line := func(name, value string) {
		writeFolded(bw, name+":"+value)
	}
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//canhgac//oncall//VI")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	if s.Name != "" {
		line("X-WR-CALNAME", escapeText(s.Name))
	}
	for _, sh := range s.Shifts(from.Add(-icsMargin), to.Add(icsMargin)) {
		if !sh.End.After(from) || !sh.Start.Before(to) {
			continue
		}
		line("BEGIN", "VEVENT")
		line("UID", escapeText(shiftUID(s.ID, sh)+"@"+uidDomain))
		line("DTSTAMP", stamp)
		line("DTSTART", sh.Start.UTC().Format(icsTime))
		line("DTEND", sh.End.UTC().Format(icsTime))
		line("SUMMARY", escapeText(summary(sh.Users, names)))
		if sh.Override {
			line("DESCRIPTION", escapeText("Trực thay (override): "+sh.Note))
		} else {
			line("DESCRIPTION", escapeText("Lớp trực (layer): "+sh.Layer))
		}
		line("TRANSP", "TRANSPARENT")
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write calendar for schedule %d: %w", s.ID, err)
	}
	return nil
}

// icsTime is the UTC DATE-TIME form of RFC 5545 (section 3.3.5, form #2).
const icsTime = "20060102T150405Z"

// shiftUID identifies a shift by what defines it: schedule, start and users.
func shiftUID(scheduleID int64, sh Shift) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(scheduleID, 10))
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(sh.Start.UnixNano(), 10))
	for _, u := range sh.Users {
		b.WriteByte('/')
		b.WriteString(strconv.FormatInt(u, 10))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "oncall-" + strconv.FormatInt(scheduleID, 10) + "-" + sh.Start.UTC().Format(icsTime) +
		"-" + hex.EncodeToString(sum[:8])
}

// summary is the event title: "Trực: " (on duty) and the users' names.
func summary(users []int64, names map[int64]string) string {
	parts := make([]string, len(users))
	for i, u := range users {
		if n := strings.TrimSpace(names[u]); n != "" {
			parts[i] = n
		} else {
			parts[i] = "#" + strconv.FormatInt(u, 10)
		}
	}
	return "Trực: " + strings.Join(parts, ", ")
}

// escapeText renders s as an RFC 5545 TEXT value (section 3.3.11): backslash,
// semicolon and comma are escaped, every line break (CRLF, CR or LF) becomes
// \n, other control characters, which TEXT may not contain, are dropped, and
// invalid UTF-8 becomes U+FFFD.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			b.WriteRune(utf8.RuneError)
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			if i == 0 || s[i-1] != '\r' {
				b.WriteString(`\n`)
			}
		case r == '\r':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// validAt reports whether the U+FFFD decoded at s[i] was really in s rather
// than a substitute for an invalid byte.
func validAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r == utf8.RuneError && size == 3
}

// maxLine is the longest a content line may be, in octets, excluding CRLF.
const maxLine = 75

// writeFolded writes a content line, folded (RFC 5545 section 3.1) so that no
// physical line exceeds 75 octets: continuation lines begin with a space,
// which counts towards their 75. Folds fall between UTF-8 sequences, never
// inside one, so every physical line is valid UTF-8 on its own.
func writeFolded(w *bufio.Writer, line string) {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for cut > limit-utf8.UTFMax && !utf8.RuneStart(line[cut]) {
			cut--
		}
		w.WriteString(line[:cut])
		w.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLine - 1
	}
	w.WriteString(line)
	w.WriteString("\r\n")
}
