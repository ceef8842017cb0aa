package crawl

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
)

// assetExts are path extensions of resources that are not HTML pages.
var assetExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".bmp": true, ".svg": true,
	".ico": true, ".tif": true, ".tiff": true, ".avif": true, ".heic": true,
	".css": true, ".js": true, ".mjs": true, ".map": true, ".json": true, ".woff": true, ".woff2": true,
	".ttf": true, ".otf": true, ".eot": true,
	".pdf": true, ".doc": true, ".docx": true, ".xls": true, ".xlsx": true, ".ppt": true, ".pptx": true,
	".odt": true, ".ods": true, ".odp": true, ".rtf": true, ".txt": true, ".csv": true, ".xml": true,
	".zip": true, ".rar": true, ".7z": true, ".gz": true, ".tgz": true, ".tar": true, ".bz2": true,
	".exe": true, ".msi": true, ".apk": true, ".dmg": true, ".iso": true, ".bin": true,
	".mp3": true, ".mp4": true, ".wav": true, ".ogg": true, ".avi": true, ".mov": true, ".wmv": true,
	".flv": true, ".mkv": true, ".webm": true, ".m4a": true, ".swf": true,
}

// SameSite resolves the reference raw against base and returns it normalized
// (see Plan) when it is an http(s) URL on base's site: the same host, or a
// host differing only by a leading "www.", on the same (or default) port.
// It rejects other sites (subdomains included), mailto:, javascript:, tel:
// and other schemes, URLs with user info, and paths whose extension marks a
// non-page asset (.jpg, .css, .js, .pdf, .zip, .doc, .xls, …). The fragment
// is dropped.
func SameSite(base *url.URL, raw string) (*url.URL, bool) {
	raw = strings.TrimSpace(raw)
	if base == nil || raw == "" || len(raw) > maxURLLen {
		return nil, false
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return nil, false
	}
	u := base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.Opaque != "" {
		return nil, false
	}
	n := normalize(u)
	b := normalize(base)
	if n.Host == "" || siteKey(n.Host) != siteKey(b.Host) {
		return nil, false
	}
	if assetExts[strings.ToLower(path.Ext(n.Path))] {
		return nil, false
	}
	return n, true
}

// normalize returns a copy of u with a lower-case scheme and host, the
// default port dropped, no fragment, no user info and a "/" for an empty
// path.
func normalize(u *url.URL) *url.URL {
	n := *u
	n.User = nil
	n.Fragment, n.RawFragment = "", ""
	n.Scheme = strings.ToLower(n.Scheme)
	host := strings.TrimSuffix(strings.ToLower(n.Hostname()), ".")
	port := n.Port()
	if port == "" || n.Scheme == "http" && port == "80" || n.Scheme == "https" && port == "443" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		n.Host = host
	} else {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		n.Host = host + ":" + port
	}
	if n.Path == "" && n.Opaque == "" {
		n.Path, n.RawPath = "/", ""
	}
	n.ForceQuery = false
	return &n
}

// siteKey is a host without a leading "www.".
func siteKey(host string) string { return strings.TrimPrefix(host, "www.") }

// pageKey identifies a page regardless of scheme and a leading "www.", so
// http:// and https://www. forms of one page count once.
func pageKey(u *url.URL) string {
	k := siteKey(u.Host) + u.EscapedPath()
	if u.RawQuery != "" {
		k += "?" + u.RawQuery
	}
	return k
}

// Source is one origin of candidate sub-page URLs.
type Source struct {
	// Kind is "sitemap", "feed" or "link" (links found on the home page);
	// it orders sources in Plan. Other kinds come last.
	Kind string
	URLs []string
}

func kindRank(k string) int {
	switch k {
	case "sitemap":
		return 0
	case "feed":
		return 1
	case "link":
		return 2
	}
	return 3
}

// Plan picks up to budget distinct same-site page URLs (see SameSite) from
// the sources, excluding the root page itself. URLs are normalized: lower-case
// scheme and host, default port dropped, no fragment, "/" for an empty path;
// http/https and www/no-www variants of one page count once. Sources take
// turns, one accepted URL each per round, sitemaps first, then feeds, then
// links (sources of one kind in argument order), so a huge sitemap cannot
// starve the feed or the home page's links. The result is deterministic: it
// depends only on the arguments. Plan returns nil when root is not an
// absolute http(s) URL or budget <= 0.
func Plan(root string, budget int, sources ...Source) []string {
	base, err := url.Parse(strings.TrimSpace(root))
	if err != nil || budget <= 0 || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil
	}
	base = normalize(base)
	ordered := make([]Source, len(sources))
	copy(ordered, sources)
	sort.SliceStable(ordered, func(i, j int) bool { return kindRank(ordered[i].Kind) < kindRank(ordered[j].Kind) })
	seen := map[string]bool{pageKey(base): true}
	next := make([]int, len(ordered))
	var out []string
	for len(out) < budget {
		progress := false
		for i := range ordered {
			if len(out) >= budget {
				break
			}
			urls := ordered[i].URLs
			for next[i] < len(urls) {
				raw := urls[next[i]]
				next[i]++
				u, ok := SameSite(base, raw)
				if !ok || seen[pageKey(u)] {
					continue
				}
				seen[pageKey(u)] = true
				out = append(out, u.String())
				progress = true
				break
			}
		}
		if !progress {
			break
		}
	}
	return out
}

// NotFoundURL returns a URL on root's site that surely does not exist,
// /canhgac-404-<16 hex digits>, for fetching the site's 404 handler, where
// spam is often planted. The path is a deterministic function of seed, so
// callers can vary it per check (a site cannot whitelist one path) or keep
// it fixed. It returns "" when root is not an absolute http(s) URL.
func NotFoundURL(root string, seed uint64) string {
	u, err := url.Parse(strings.TrimSpace(root))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	n := normalize(u)
	return fmt.Sprintf("%s://%s/canhgac-404-%016x", n.Scheme, n.Host, mix(seed))
}

// mix is the splitmix64 finalizer: nearby seeds give unrelated paths.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// NewEntries returns the URLs of the current sitemap that the previous one
// did not list (doorway pages appearing), normalized as in Plan, distinct and
// sorted. Entries that are not absolute http(s) URLs are ignored; http/https
// and www/no-www variants of a previously listed page are not new.
func NewEntries(previous, current []string) []string {
	old := make(map[string]bool, len(previous))
	for _, raw := range previous {
		if u, ok := parsePage(raw); ok {
			old[pageKey(u)] = true
		}
	}
	var out []string
	for _, raw := range current {
		u, ok := parsePage(raw)
		if !ok || old[pageKey(u)] {
			continue
		}
		old[pageKey(u)] = true
		out = append(out, u.String())
	}
	sort.Strings(out)
	return out
}

// parsePage parses an absolute http(s) URL and normalizes it.
func parsePage(raw string) (*url.URL, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxURLLen {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return normalize(u), true
}
