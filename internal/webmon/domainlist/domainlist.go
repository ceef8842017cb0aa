// Package domainlist holds sets of domains (gambling, malicious) that a page
// must not link to, and matches hosts against them by parent domain.
package domainlist

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// List is a set of lower-cased domains. A host matches when it or any of its
// parent domains is in the set. The zero value is an empty list.
type List struct {
	set map[string]struct{}
}

// maxLine bounds one input line; hosts files have short lines, so longer ones
// are skipped rather than buffered.
const maxLine = 4096

// Load parses hosts-file ("0.0.0.0 domain", "127.0.0.1 a b") or plain
// one-domain-a-line text. Comments (# …), blank lines, IP-only lines and
// localhost entries are skipped.
func Load(r io.Reader) (*List, error) {
	l := &List{set: make(map[string]struct{})}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if len(line) > maxLine {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 1 && isIP(fields[0]) {
			fields = fields[1:]
		}
		for _, f := range fields {
			if d := normalize(f); d != "" && !isIP(d) && d != "localhost" && d != "localhost.localdomain" && d != "broadcasthost" {
				l.set[d] = struct{}{}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("domain list line %d: %w", n+1, err)
	}
	return l, nil
}

// isIP reports whether s looks like an IPv4 or IPv6 address (digits, dots,
// colons, hex), the first column of a hosts file.
func isIP(s string) bool {
	if s == "" {
		return false
	}
	colon := strings.Contains(s, ":")
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c == '.', c == ':':
		case colon && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return true
}

// normalize lower-cases a host, strips a trailing dot and a leading "*." and
// rejects strings that cannot be host names.
func normalize(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimSuffix(h, ".")
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return ""
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == '/' || c == ':' || c == ' ' || c == '@' || c < 0x21 || c == 0x7f {
			return ""
		}
	}
	return h
}

// Len is the number of domains in the list.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.set)
}

// Match reports whether host or one of its parent domains is listed, and
// which entry matched. Hosts are compared lower-cased, without a trailing dot
// or port; punycode (xn--) hosts compare as given.
func (l *List) Match(host string) (matched string, ok bool) {
	if l == nil || len(l.set) == 0 {
		return "", false
	}
	h := strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[:i], ":") {
		h = h[:i] // host:port
	}
	h = strings.TrimSuffix(h, ".")
	for h != "" {
		if _, ok := l.set[h]; ok {
			return h, true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return "", false
}

// Domains returns the listed domains, sorted.
func (l *List) Domains() []string {
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.set))
	for d := range l.set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

//go:embed gambling-VN.txt gambling.txt
var embedded embed.FS

var (
	embeddedOnce sync.Once
	embeddedList *List
)

// Embedded returns the shipped gambling list: hostsVN's gambling-VN.txt and
// gambling.txt (MIT, see ATTRIBUTION.md), merged. It is parsed once.
func Embedded() *List {
	embeddedOnce.Do(func() {
		l := &List{set: make(map[string]struct{})}
		for _, name := range []string{"gambling-VN.txt", "gambling.txt"} {
			f, err := embedded.Open(name)
			if err != nil {
				panic("domainlist: embedded " + name + ": " + err.Error())
			}
			part, err := Load(f)
			f.Close()
			if err != nil {
				panic("domainlist: embedded " + name + ": " + err.Error())
			}
			for d := range part.set {
				l.set[d] = struct{}{}
			}
		}
		embeddedList = l
	})
	return embeddedList
}

// Merge returns one list holding every domain of the given lists (nil
// lists are skipped).
func Merge(lists ...*List) *List {
	out := &List{set: make(map[string]struct{})}
	for _, l := range lists {
		if l == nil {
			continue
		}
		for d := range l.set {
			out.set[d] = struct{}{}
		}
	}
	return out
}

// LoadFiles returns the embedded list with the domains of each file added:
// how operators bring in an updated blocklist (hostsVN, chongluadao, a
// Ministry list) on a closed network.
func LoadFiles(paths ...string) (*List, error) {
	lists := []*List{Embedded()}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("domain list: %w", err)
		}
		l, err := Load(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("domain list %s: %w", p, err)
		}
		if l.Len() == 0 {
			return nil, fmt.Errorf("domain list %s: no domains in it", p)
		}
		lists = append(lists, l)
	}
	return Merge(lists...), nil
}
