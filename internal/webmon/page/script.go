package page

import (
	"bytes"
	"hash/fnv"
	"net/url"
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
	if i := strings.Index(s, "document.write"); i >= 0 {
		seg := s[i:min(len(s), i+600)]
		if strings.Contains(seg, "<a ") || strings.Contains(seg, "<a\t") || strings.Contains(seg, "href") {
			add("document_write_links", snippet(s, i), hostsIn(seg)...)
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
	if i := strings.Index(s, "referrer"); i >= 0 && acts {
		near := s[max(0, i-200):min(len(s), i+300)]
		for _, se := range []string{"google", "bing", "yahoo", "coccoc", "yandex", "baidu"} {
			if strings.Contains(near, se) && !strings.Contains(near, "googletag") && !strings.Contains(near, "googlesyndication") {
				add("referrer_check", snippet(s, i), hostsIn(s[i:min(len(s), i+600)])...)
				break
			}
		}
	}
	if i := strings.Index(s, "useragent"); i >= 0 && acts {
		near := s[max(0, i-200):min(len(s), i+300)]
		for _, bot := range []string{"googlebot", "bingbot", "spider", "crawler", "slurp", "baiduspider", "coccocbot"} {
			if strings.Contains(near, bot) {
				add("useragent_check", snippet(s, i))
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
					if sub, err := extract([]byte(dec), e.f.URL, e.depth+1); err == nil {
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
		seg := s[i:min(len(s), i+2000)]
		if j := strings.IndexByte(seg, ')'); j > 0 && strings.Count(seg[:j], ",") >= 15 {
			add("charcode", snippet(s, i))
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
