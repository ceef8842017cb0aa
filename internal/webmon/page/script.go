package page

import (
	"bytes"
	"encoding/base64"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
)

// inspectScript looks for link-writing, redirecting and cloaking constructs
// in inline script text, event handlers and javascript: URLs.
func (e *extractor) inspectScript(b []byte) {
	if len(b) == 0 || len(e.f.Scripts) >= 64 {
		return
	}
	if len(b) > maxScript {
		b = b[:maxScript]
	}
	s := string(bytes.ToLower(b))
	add := func(kind, detail string, targets ...string) {
		h := fnv.New64a()
		h.Write([]byte(kind))
		h.Write([]byte(maskDigits(detail)))
		for _, t := range targets {
			h.Write([]byte(t))
		}
		key := h.Sum64()
		for _, x := range e.f.Scripts {
			if x.Key == key {
				return
			}
		}
		e.f.Scripts = append(e.f.Scripts, ScriptFinding{Kind: kind, Detail: detail, Key: key, Targets: targets})
	}
	for off, n := 0, 0; n < 16; n++ {
		i := strings.Index(s[off:], "document.write")
		if i < 0 {
			break
		}
		i += off
		off = i + 14
		seg := s[i:min(len(s), i+600)]
		if strings.Contains(seg, "<a ") || strings.Contains(seg, "<a\t") || strings.Contains(seg, "href") {
			add("document_write_links", snippet(s, i), hostsIn(seg)...)
		}
		// Read written markup as part of the page (hidden blocks, links).
		if e.depth < 3 && len(e.inline) < 16 {
			if html := writtenLiteral(string(b[i:min(len(b), i+20000)])); strings.Contains(html, "<a") || strings.Contains(html, "<A") {
				if sub, err := e.sub([]byte(html)); err == nil {
					e.inline = append(e.inline, sub)
				}
			}
		}
	}
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], "location")
		if i < 0 {
			break
		}
		i += off
		off = i + 8
		rest := strings.TrimLeft(s[i+8:min(len(s), i+400)], " \t")
		if strings.HasPrefix(rest, ".href") {
			rest = strings.TrimLeft(rest[5:], " \t")
		}
		var target string
		switch {
		case strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "=="):
			target = strings.TrimLeft(rest[1:], " \t")
		case strings.HasPrefix(rest, ".replace(") || strings.HasPrefix(rest, ".assign("):
			target = rest[strings.IndexByte(rest, '(')+1:]
		default:
			continue
		}
		hosts := hostsIn(target[:min(len(target), 200)])
		if len(hosts) == 0 {
			// A redirect to a computed or relative URL: only notable when
			// paired with a cloaking check, reported below.
			continue
		}
		add("redirect", snippet(s, i), hosts...)
	}
	// Cloaking: a search-engine name near a referrer read, or a crawler name
	// near a user-agent read, in a script that also redirects or writes.
	acts := strings.Contains(s, "location") || strings.Contains(s, "document.write") || strings.Contains(s, "innerhtml") || strings.Contains(s, ".display")
	// The strong form also sends the visitor to, or writes, an absolute URL;
	// a bare check (ad code measuring search traffic) is weak.
	strong := func(i int) (string, []string) {
		after := s[i:min(len(s), i+800)]
		hosts := hostsIn(after)
		if len(hosts) > 0 && (strings.Contains(after, "location") || strings.Contains(after, "document.write") || strings.Contains(after, "innerhtml")) {
			return "", hosts
		}
		return "_weak", nil
	}
	if i := strings.Index(s, "referrer"); i >= 0 && acts {
		near := s[max(0, i-200):min(len(s), i+300)]
		for _, se := range []string{"google", "bing", "yahoo", "coccoc", "yandex", "baidu"} {
			if strings.Contains(near, se) && !strings.Contains(near, "googletag") && !strings.Contains(near, "googlesyndication") {
				suffix, hosts := strong(i)
				add("referrer_check"+suffix, snippet(s, i), hosts...)
				break
			}
		}
	}
	if i := strings.Index(s, "useragent"); i >= 0 && acts {
		near := s[max(0, i-200):min(len(s), i+300)]
		for _, bot := range []string{"googlebot", "bingbot", "spider", "crawler", "slurp", "baiduspider", "coccocbot"} {
			if strings.Contains(near, bot) {
				suffix, hosts := strong(i)
				add("useragent_check"+suffix, snippet(s, i), hosts...)
				break
			}
		}
	}
	// Content written from an encoded blob: decode it and read it as part
	// of the page, so a banner hidden in unescape('%3C…') is still seen.
	if i := strings.Index(s, "unescape("); i >= 0 && e.depth < 3 {
		lit := string(b[i+9:])
		if len(lit) > 0 && (lit[0] == '\'' || lit[0] == '"') {
			if j := strings.IndexByte(lit[1:], lit[0]); j > 0 {
				if dec, err := url.PathUnescape(lit[1 : j+1]); err == nil && strings.Contains(dec, "<") {
					if sub, err := e.sub([]byte(dec)); err == nil {
						e.inline = append(e.inline, sub)
						if sub.Words >= 5 || len(sub.Links) > 2 || len(e.inline) > 1 && sub.Words > 0 {
							add("encoded_write", snippet(s, i))
						}
					}
				}
			}
		}
	}
	for _, p := range []string{"eval(atob(", "eval(unescape(", "eval(decodeuricomponent(", "eval(string.fromcharcode(", "eval(function(p,a,c,k,e,"} {
		if i := strings.Index(s, p); i >= 0 {
			add("eval_decode", snippet(s, i))
			break
		}
	}
	if i := strings.Index(s, "fromcharcode("); i >= 0 {
		seg := s[i+13 : min(len(s), i+20000)]
		if j := strings.IndexByte(seg, ')'); j > 0 && strings.Count(seg[:j], ",") >= 15 {
			kind := "charcode"
			var dec strings.Builder
			for _, n := range strings.Split(seg[:j], ",") {
				if v, err := strconv.Atoi(strings.TrimSpace(n)); err == nil && v > 0 && v < 0x110000 {
					dec.WriteRune(rune(v))
				}
			}
			if d := dec.String(); strings.Contains(d, "<") && e.depth < 3 {
				if sub, err := e.sub([]byte(d)); err == nil {
					e.inline = append(e.inline, sub)
					if len(sub.Links) > 0 {
						kind = "charcode_links"
					}
				}
			} else if strings.Contains(d, "location") && e.depth < 3 {
				e.depth++
				e.inspectScript([]byte(d))
				e.depth--
			}
			add(kind, snippet(s, i))
		}
	}
	// eval(atob("…")): decode and inspect the hidden script itself.
	if i := strings.Index(s, "atob("); i >= 0 && e.depth < 3 {
		lit := string(b[i+5 : min(len(b), i+5+100000)])
		if len(lit) > 2 && (lit[0] == '\'' || lit[0] == '"') {
			if j := strings.IndexByte(lit[1:], lit[0]); j > 0 {
				if dec, err := base64.StdEncoding.DecodeString(lit[1 : j+1]); err == nil {
					e.depth++
					e.inspectScript(dec)
					e.depth--
				}
			}
		}
	}
}

func snippet(s string, i int) string {
	if i < 0 {
		i = 0
	}
	return truncate(collapse(s[max(0, i-20):min(len(s), i+100)]), 120)
}

// hostsIn returns the hosts of http(s) URLs written in s.
func hostsIn(s string) []string {
	var out []string
	for off := 0; off < len(s) && len(out) < 8; {
		i := strings.Index(s[off:], "//")
		if i < 0 {
			break
		}
		i += off
		off = i + 2
		if i < 5 || !(strings.HasSuffix(s[:i], "http:") || strings.HasSuffix(s[:i], "https:")) && s[i-1] != '\'' && s[i-1] != '"' {
			continue
		}
		end := i + 2
		for end < len(s) && (isHostByte(s[end])) {
			end++
		}
		h := strings.TrimSuffix(s[i+2:end], ".")
		if strings.Contains(h, ".") && !contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c >= 0x80
}

// writtenLiteral returns the string literal(s) passed to document.write(…),
// joined across simple '+' concatenation, or "".
func writtenLiteral(s string) string {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return ""
	}
	var out strings.Builder
	rest := s[i+1:]
	for {
		rest = strings.TrimLeft(rest, " \t\r\n+")
		if rest == "" || rest[0] != '"' && rest[0] != '\'' {
			break
		}
		q := rest[0]
		j := 1
		for j < len(rest) && rest[j] != q {
			if rest[j] == '\\' && j+1 < len(rest) {
				j++
			}
			out.WriteByte(rest[j])
			j++
		}
		if j >= len(rest) {
			break
		}
		rest = rest[j+1:]
	}
	return out.String()
}
