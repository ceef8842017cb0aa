package oncall

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// component is a parsed iCalendar component: its properties (name to
// unescaped value, last one wins) and sub-components.
type component struct {
	name  string
	props map[string]string
	raw   map[string]string // values as written, before unescaping
	subs  []*component
}

// parseICS checks the physical form of a feed (CRLF endings, lines of at most
// 75 octets, each valid UTF-8), unfolds it and parses it into components.
func parseICS(t *testing.T, data []byte) *component {
	t.Helper()
	text := string(data)
	if !strings.HasSuffix(text, "\r\n") {
		t.Fatalf("feed does not end with CRLF")
	}
	physical := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
	var logical []string
	for i, l := range physical {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 on its own: %q", i+1, l)
		}
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			if len(logical) == 0 {
				t.Fatalf("feed starts with a continuation line")
			}
			logical[len(logical)-1] += l[1:]
			continue
		}
		logical = append(logical, l)
	}
	var stack []*component
	var root *component
	for _, l := range logical {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("content line without a colon: %q", l)
		}
		switch name {
		case "BEGIN":
			c := &component{name: value, props: map[string]string{}, raw: map[string]string{}}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.subs = append(top.subs, c)
			} else if root != nil {
				t.Fatalf("a second top-level component %s", value)
			} else {
				root = c
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].name != value {
				t.Fatalf("END:%s does not close the open component", value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				t.Fatalf("property %s outside any component", name)
			}
			top := stack[len(stack)-1]
			top.raw[name] = value
			u, err := unescapeText(value)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			top.props[name] = u
		}
	}
	if len(stack) != 0 || root == nil {
		t.Fatalf("unbalanced components")
	}
	return root
}

// unescapeText reverses RFC 5545 TEXT escaping and refuses values a strict
// reader would: an unescaped comma or semicolon, or a stray backslash.
func unescapeText(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case ',', ';':
			return "", fmt.Errorf("unescaped %q in %q", c, v)
		case '\\':
			if i+1 == len(v) {
				return "", errors.New("trailing backslash in " + v)
			}
			i++
			switch v[i] {
			case '\\', ',', ';':
				b.WriteByte(v[i])
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				return "", fmt.Errorf("unknown escape \\%c in %q", v[i], v)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func icsSchedule() *Schedule {
	return &Schedule{
		ID:   42,
		Name: "Trực SOC; Sở TT&TT, tỉnh",
		Layers: []Layer{{
			Name: "chính", Rotation: TwelveHour, Start: at(2025, 3, 1, 7, 30, 0), Users: []int64{1, 2, 3}, PerShift: 2,
		}},
		Overrides: []Override{{
			Start: at(2025, 3, 4, 7, 30, 0), End: at(2025, 3, 4, 19, 30, 0), Users: []int64{4},
			Note: "Đổi ca: anh Bình nghỉ ốm;\nchị Hoa trực thay, \\ liên hệ 0912",
		}},
	}
}

var icsNames = map[int64]string{
	1: "Nguyễn Văn A",
	2: "Trần Thị B",
	4: "Lê Văn Cường, phó phòng; Đội ứng cứu sự cố an toàn thông tin mạng tỉnh",
}

func exportICS(t *testing.T, s *Schedule, from, to time.Time) *component {
	t.Helper()
	var buf bytes.Buffer
	if err := s.ICS(&buf, from, to, icsNames, "soc.example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	return parseICS(t, buf.Bytes())
}

func TestICS(t *testing.T) {
	s := icsSchedule()
	from, to := at(2025, 3, 2, 19, 30, 0), at(2025, 3, 5, 7, 30, 0)
	cal := exportICS(t, s, from, to)
	if cal.name != "VCALENDAR" || cal.props["VERSION"] != "2.0" || cal.props["PRODID"] == "" {
		t.Fatalf("calendar header: %s %v", cal.name, cal.props)
	}
	if cal.props["X-WR-CALNAME"] != s.Name {
		t.Errorf("calendar name = %q", cal.props["X-WR-CALNAME"])
	}
	shifts := s.Shifts(from, to)
	if len(cal.subs) != len(shifts) || len(shifts) != 5 {
		t.Fatalf("%d events for %d shifts, want 5", len(cal.subs), len(shifts))
	}
	uids := map[string]bool{}
	for i, ev := range cal.subs {
		sh := shifts[i]
		if ev.name != "VEVENT" {
			t.Fatalf("component %s", ev.name)
		}
		if got, want := ev.raw["DTSTART"], sh.Start.UTC().Format("20060102T150405Z"); got != want {
			t.Errorf("event %d DTSTART = %s, want %s", i, got, want)
		}
		if got, want := ev.raw["DTEND"], sh.End.UTC().Format("20060102T150405Z"); got != want {
			t.Errorf("event %d DTEND = %s, want %s", i, got, want)
		}
		if _, err := time.Parse("20060102T150405Z", ev.raw["DTSTAMP"]); err != nil {
			t.Errorf("event %d DTSTAMP: %v", i, err)
		}
		uid := ev.props["UID"]
		if !strings.HasSuffix(uid, "@soc.example.gov.vn") || uids[uid] {
			t.Errorf("event %d UID %q is not unique in the domain", i, uid)
		}
		uids[uid] = true
	}
	// Shift 3 of the rotation (night of 2 March) has users 1 and 2, shift 4
	// users 3 and 1, shift 5 users 2 and 3; user 3 has no name.
	for i, want := range []string{"Trực: Nguyễn Văn A, Trần Thị B", "Trực: #3, Nguyễn Văn A", "Trực: Trần Thị B, #3"} {
		if got := cal.subs[i].props["SUMMARY"]; got != want {
			t.Errorf("event %d SUMMARY = %q, want %q", i, got, want)
		}
	}
	if got, want := cal.subs[0].raw["SUMMARY"], `Trực: Nguyễn Văn A\, Trần Thị B`; got != want {
		t.Errorf("raw SUMMARY = %q, want the comma escaped: %q", got, want)
	}
	// The override: a long name with a comma and semicolon, and a note with a
	// newline and a backslash, survive escaping and folding.
	ov := cal.subs[3]
	if got, want := ov.props["SUMMARY"], "Trực: "+icsNames[4]; got != want {
		t.Errorf("override SUMMARY = %q, want %q", got, want)
	}
	if !strings.Contains(ov.props["DESCRIPTION"], s.Overrides[0].Note) {
		t.Errorf("override DESCRIPTION = %q lacks the note", ov.props["DESCRIPTION"])
	}
}

func TestICSFoldsLongLinesBetweenCharacters(t *testing.T) {
	s := icsSchedule()
	var buf bytes.Buffer
	if err := s.ICS(&buf, at(2025, 3, 4, 8, 0, 0), at(2025, 3, 4, 9, 0, 0), icsNames, ""); err != nil {
		t.Fatal(err)
	}
	folded := 0
	for _, l := range strings.Split(buf.String(), "\r\n") {
		if strings.HasPrefix(l, " ") {
			folded++
		}
	}
	if folded == 0 {
		t.Fatalf("no folded line in\n%s", buf.String())
	}
	cal := parseICS(t, buf.Bytes()) // checks 75 octets and UTF-8 per line
	if uid := cal.subs[0].props["UID"]; !strings.HasSuffix(uid, "@canhgac") {
		t.Errorf("default UID domain: %q", uid)
	}
}

// TestICSUIDsAreStableAcrossExports exports two overlapping windows, the
// second starting in the middle of a shift; the shifts they share keep their
// UIDs and times, the cut shift included.
func TestICSUIDsAreStableAcrossExports(t *testing.T) {
	s := icsSchedule()
	first := exportICS(t, s, at(2025, 3, 3, 0, 0, 0), at(2025, 3, 10, 0, 0, 0))
	second := exportICS(t, s, at(2025, 3, 5, 13, 17, 0), at(2025, 3, 12, 13, 17, 0))
	byStart := map[string]*component{}
	for _, ev := range first.subs {
		byStart[ev.raw["DTSTART"]] = ev
	}
	shared := 0
	for _, ev := range second.subs {
		old, ok := byStart[ev.raw["DTSTART"]]
		if !ok {
			continue
		}
		shared++
		if old.props["UID"] != ev.props["UID"] || old.raw["DTEND"] != ev.raw["DTEND"] {
			t.Errorf("shift at %s: UID %s–%s then %s–%s", ev.raw["DTSTART"],
				old.props["UID"], old.raw["DTEND"], ev.props["UID"], ev.raw["DTEND"])
		}
	}
	if shared == 0 {
		t.Fatal("the exports share no shift")
	}
	// The shift in progress at the second window's start is exported whole.
	if got, want := second.subs[0].raw["DTSTART"], at(2025, 3, 5, 7, 30, 0).UTC().Format(icsTime); got != want {
		t.Errorf("first event of the second export starts %s, want the shift's real start %s", got, want)
	}
	// Another schedule's identical shifts have other UIDs.
	other := icsSchedule()
	other.ID = 43
	third := exportICS(t, other, at(2025, 3, 3, 0, 0, 0), at(2025, 3, 10, 0, 0, 0))
	if third.subs[0].props["UID"] == first.subs[0].props["UID"] {
		t.Errorf("schedules 42 and 43 share UID %s", third.subs[0].props["UID"])
	}
}

func TestICSWithNothingOnDuty(t *testing.T) {
	cal := exportICS(t, &Schedule{ID: 1, Name: "trống"}, at(2025, 3, 3, 0, 0, 0), at(2025, 3, 10, 0, 0, 0))
	if len(cal.subs) != 0 {
		t.Errorf("events in an empty schedule: %d", len(cal.subs))
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestICSReportsWriteErrors(t *testing.T) {
	err := icsSchedule().ICS(failingWriter{}, at(2025, 3, 3, 0, 0, 0), at(2025, 4, 3, 0, 0, 0), icsNames, "")
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("ICS to a failing writer = %v", err)
	}
}

func TestEscapeText(t *testing.T) {
	cases := map[string]string{
		"Nguyễn Văn A":          "Nguyễn Văn A",
		"a,b;c\\d":              `a\,b\;c\\d`,
		"dòng 1\ndòng 2":        `dòng 1\ndòng 2`,
		"windows\r\nline":       `windows\nline`,
		"old mac\rline":         `old mac\nline`,
		"tab\tkept, bell\adrop": "tab\tkept\\, belldrop",
		"bad \xff byte":         "bad \uFFFD byte",
		"real \uFFFD kept":      "real \uFFFD kept",
	}
	for in, want := range cases {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzICSText checks escaping and folding together: whatever the text, the
// property it becomes folds into CRLF lines of at most 75 octets that are
// each valid UTF-8, and unfolding and unescaping give the text back, with
// line breaks as LF and other control characters removed.
func FuzzICSText(f *testing.F) {
	for _, s := range []string{
		"", "Nguyễn Văn A, Trần Thị B", strings.Repeat("ữ", 60), strings.Repeat("a", 74) + "ệ",
		"a;b,c\\d\r\ne\rf\ng", "\xff\xfe\xe1\xbb", "𝄞𝄞𝄞" + strings.Repeat(",", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc := escapeText(s)
		line := "SUMMARY:" + esc
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		writeFolded(w, line)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("no final CRLF: %q", out)
		}
		var unfolded strings.Builder
		for i, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(l) > 75 {
				t.Fatalf("line %d is %d octets", i, len(l))
			}
			if !utf8.ValidString(l) {
				t.Fatalf("line %d is invalid UTF-8: %q", i, l)
			}
			if strings.ContainsAny(l, "\r\n") {
				t.Fatalf("line %d holds a bare CR or LF: %q", i, l)
			}
			if i > 0 {
				if !strings.HasPrefix(l, " ") {
					t.Fatalf("continuation line %d does not start with a space: %q", i, l)
				}
				l = l[1:]
			}
			unfolded.WriteString(l)
		}
		if unfolded.String() != line {
			t.Fatalf("unfolds to %q, want %q", unfolded.String(), line)
		}
		back, err := unescapeText(esc)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) {
			want := strings.Map(func(r rune) rune {
				if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f) {
					return r
				}
				return -1
			}, strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
			if back != want {
				t.Fatalf("unescapes to %q, want %q", back, want)
			}
		} else if !utf8.ValidString(back) {
			t.Fatalf("invalid UTF-8 survived escaping: %q", back)
		}
	})
}
