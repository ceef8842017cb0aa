package page

import (
	"bytes"
	"strconv"
	"strings"
)

// decls is a parsed style attribute or rule body: lower-cased property →
// value, whitespace removed, !important dropped.
type decls map[string]string

func parseDecls(s string) decls {
	if s == "" {
		return nil
	}
	d := decls{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.ToLower(strings.Join(strings.Fields(v), " "))
		v = strings.TrimSpace(strings.TrimSuffix(v, "!important"))
		if k != "" && len(d) < 64 {
			d[k] = v
		}
	}
	return d
}

func (d decls) background() string {
	if c := d["background-color"]; c != "" {
		return normColor(c)
	}
	if c := d["background"]; c != "" {
		for _, f := range strings.Fields(c) {
			if n := normColor(f); n != "" && (strings.HasPrefix(n, "#") || n == "transparent") {
				return n
			}
		}
	}
	return ""
}

// hiddenTechnique names how an element's own style or attributes hide it
// from a visitor, or returns "".
func hiddenTechnique(d decls, attrs map[string]string, parentBG string) string {
	if _, ok := attrs["hidden"]; ok {
		return "hidden_attribute"
	}
	if t := declTechnique(d, parentBG); t != "" {
		return t
	}
	if strings.EqualFold(strings.TrimSpace(attrs["aria-hidden"]), "true") {
		return "aria_hidden"
	}
	return ""
}

// declTechnique names the hiding technique in a declaration block.
func declTechnique(d decls, parentBG string) string {
	if d == nil {
		return ""
	}
	switch d["display"] {
	case "none":
		return "display_none"
	case "table-column", "table-column-group":
		// A column box renders none of its content: a link farm parked
		// in a div styled as a table column is invisible.
		return "table_column"
	}
	if v := d["visibility"]; v == "hidden" || v == "collapse" {
		return "visibility_hidden"
	}
	if v, ok := d["opacity"]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f < 0.05 {
			return "opacity_zero"
		}
	}
	if pos := d["position"]; pos == "absolute" || pos == "fixed" || pos == "relative" {
		for _, k := range []string{"left", "top", "right", "bottom", "margin-left", "margin-top"} {
			if farNegative(d[k]) {
				return "offscreen"
			}
		}
	}
	if farNegative(d["text-indent"]) || farNegative(d["margin-left"]) && farNegative(d["margin-top"]) {
		return "offscreen"
	}
	if v, ok := d["font-size"]; ok && tinyLength(v, 2) {
		return "font_size_zero"
	}
	if d["overflow"] == "hidden" || d["overflow-x"] == "hidden" || d["overflow-y"] == "hidden" {
		if tinyLength(d["height"], 1) || tinyLength(d["width"], 1) || tinyLength(d["max-height"], 1) || tinyLength(d["max-width"], 1) {
			// The screen-reader-only idiom (1px box, clip) hides labels, not
			// link farms; it still counts, the analysis weighs it by content.
			return "zero_size"
		}
	}
	if strings.Contains(d["clip"], "rect(0") || strings.Contains(d["clip-path"], "inset(50%") || strings.Contains(d["clip-path"], "inset(100%") {
		return "clipped"
	}
	if v, ok := d["transform"]; ok && (strings.Contains(v, "scale(0)") || strings.Contains(v, "scale(0,") || strings.Contains(v, "translatex(-9") || strings.Contains(v, "translatey(-9")) {
		return "transform_hidden"
	}
	if c, ok := d["color"]; ok {
		c = normColor(c)
		if c == "transparent" {
			return "transparent_text"
		}
		bg := d.background()
		if bg == "" {
			bg = parentBG
		}
		if bg == "" {
			bg = "#ffffff" // browsers' default canvas
		}
		if c != "" && c == bg {
			return "color_as_background"
		}
	}
	return ""
}

// farNegative reports a length of -500px or beyond (or -50em, -100%…).
func farNegative(v string) bool {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "-") {
		return false
	}
	num := strings.TrimRight(v[1:], "abcdefghijklmnopqrstuvwxyz%")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	unit := v[1+len(num):]
	switch unit {
	case "em", "rem":
		return f >= 30
	case "%", "vw", "vh":
		return f >= 90
	default:
		return f >= 500
	}
}

// tinyLength reports a length at most max px (0, 1px, 0.1em, 0%).
func tinyLength(v string, max float64) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyz%")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	switch v[len(num):] {
	case "em", "rem":
		f *= 16
	case "%":
		if f > 1 {
			return false
		}
	case "pt":
		f *= 1.33
	}
	return f <= max
}

var namedColors = map[string]string{
	"white": "#ffffff", "black": "#000000", "red": "#ff0000", "green": "#008000", "blue": "#0000ff",
	"yellow": "#ffff00", "gray": "#808080", "grey": "#808080", "silver": "#c0c0c0", "navy": "#000080",
	"transparent": "transparent",
}

// normColor returns a colour as #rrggbb (or "transparent"), "" if unknown.
func normColor(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if n, ok := namedColors[c]; ok {
		return n
	}
	if strings.HasPrefix(c, "#") {
		h := c[1:]
		switch len(h) {
		case 3:
			return "#" + string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		case 6:
			return c
		case 8:
			if h[6:] == "00" {
				return "transparent"
			}
			return "#" + h[:6]
		}
		return ""
	}
	if strings.HasPrefix(c, "rgb") {
		i, j := strings.IndexByte(c, '('), strings.IndexByte(c, ')')
		if i < 0 || j < i {
			return ""
		}
		parts := strings.FieldsFunc(c[i+1:j], func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
		if len(parts) < 3 {
			return ""
		}
		if len(parts) >= 4 {
			if a, err := strconv.ParseFloat(parts[3], 64); err == nil && a < 0.05 {
				return "transparent"
			}
		}
		var out [3]byte
		for k := 0; k < 3; k++ {
			n, err := strconv.Atoi(strings.TrimSuffix(parts[k], "%"))
			if err != nil || n < 0 || n > 255 {
				return ""
			}
			out[k] = byte(n)
		}
		return "#" + hex2(out[0]) + hex2(out[1]) + hex2(out[2])
	}
	return ""
}

func hex2(b byte) string {
	const d = "0123456789abcdef"
	return string([]byte{d[b>>4], d[b&15]})
}

func isDark(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	v, err := strconv.ParseUint(c[1:], 16, 32)
	if err != nil {
		return false
	}
	r, g, b := v>>16&255, v>>8&255, v&255
	return r+g+b < 120
}

// cssRules holds what <style> blocks hide: simple .class and #id selectors
// whose declarations hide the element, and the body background.
type cssRules struct {
	classes map[string]string // class → technique
	ids     map[string]string
	bodyBG  string
}

func (c *cssRules) technique(class, id string) string {
	if id != "" && c.ids != nil {
		if t, ok := c.ids[strings.TrimSpace(id)]; ok {
			return t
		}
	}
	if class != "" && c.classes != nil {
		for _, cl := range strings.Fields(class) {
			if t, ok := c.classes[cl]; ok {
				return t
			}
		}
	}
	return ""
}

// parseStyleBlocks scans the document for <style> elements and collects the
// top-level rules (not those inside @media: responsive menus hide there).
func parseStyleBlocks(raw []byte) cssRules {
	var c cssRules
	lower := raw
	budget := 2 << 20
	for budget > 0 {
		i := indexFold(lower, "<style")
		if i < 0 {
			break
		}
		rest := lower[i+6:]
		gt := bytes.IndexByte(rest, '>')
		if gt < 0 {
			break
		}
		rest = rest[gt+1:]
		end := indexFold(rest, "</style")
		if end < 0 {
			end = len(rest)
		}
		body := rest[:min(end, budget, 256<<10)]
		budget -= len(body)
		c.parse(string(body))
		lower = rest[end:]
	}
	c.scriptHidden(raw)
	return c
}

// scriptHidden finds elements hidden by script after the page loads:
// getElementById('x').style.display='none' (or visibility='hidden').
func (c *cssRules) scriptHidden(raw []byte) {
	rest := raw
	for n := 0; n < 200; n++ {
		i := indexFold(rest, "getelementbyid(")
		if i < 0 {
			return
		}
		rest = rest[i+15:]
		if len(rest) < 3 || rest[0] != '\'' && rest[0] != '"' {
			continue
		}
		j := bytes.IndexByte(rest[1:], rest[0])
		if j <= 0 || j > 100 {
			continue
		}
		id := string(rest[1 : j+1])
		tail := strings.ToLower(string(rest[j+2 : min(len(rest), j+2+60)]))
		tail = strings.NewReplacer(" ", "", "\"", "'").Replace(tail)
		tech := ""
		switch {
		case strings.HasPrefix(tail, ").style.display='none'"):
			tech = "display_none_script"
		case strings.HasPrefix(tail, ").style.visibility='hidden'"):
			tech = "visibility_hidden_script"
		}
		if tech != "" {
			if c.ids == nil {
				c.ids = map[string]string{}
			}
			c.ids[id] = tech
		}
	}
}

func (c *cssRules) parse(css string) {
	depth := 0
	start := 0
	var atBlock []bool // whether each open brace belongs to an @-rule
	for i := 0; i < len(css); i++ {
		switch css[i] {
		case '{':
			sel := strings.TrimSpace(stripComments(css[start:i]))
			atBlock = append(atBlock, strings.HasPrefix(sel, "@"))
			depth++
			if depth == 1 && !strings.HasPrefix(sel, "@") {
				j := strings.IndexByte(css[i:], '}')
				if j < 0 {
					return
				}
				c.rule(sel, css[i+1:i+j])
				i += j
				depth--
				atBlock = atBlock[:len(atBlock)-1]
			}
			start = i + 1
		case '}':
			if depth > 0 {
				depth--
				atBlock = atBlock[:len(atBlock)-1]
			}
			start = i + 1
		}
	}
}

func stripComments(s string) string {
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + s[i+2+j+2:]
	}
}

func (c *cssRules) rule(selectors, body string) {
	d := parseDecls(stripComments(body))
	for _, sel := range strings.Split(selectors, ",") {
		sel = strings.TrimSpace(sel)
		if sel == "body" || sel == "html" || sel == "body,html" {
			if bg := d.background(); bg != "" {
				c.bodyBG = bg
			}
			continue
		}
		t := declTechnique(d, "")
		if t == "" || t == "color_as_background" {
			continue
		}
		// Only the last compound of a simple selector: ".a .b" → ".b",
		// "div.x" → ".x"; pseudo-classes (:hover menus) are skipped.
		if f := strings.Fields(sel); len(f) > 0 {
			sel = f[len(f)-1]
		}
		if strings.ContainsAny(sel, ":[>+~*") {
			continue
		}
		if i := strings.IndexAny(sel, ".#"); i > 0 {
			sel = sel[i:]
		}
		switch {
		case strings.HasPrefix(sel, ".") && !strings.ContainsAny(sel[1:], ".#"):
			if c.classes == nil {
				c.classes = map[string]string{}
			}
			c.classes[sel[1:]] = t + "_css"
		case strings.HasPrefix(sel, "#") && !strings.ContainsAny(sel[1:], ".#"):
			if c.ids == nil {
				c.ids = map[string]string{}
			}
			c.ids[sel[1:]] = t + "_css"
		}
	}
}

// indexFold finds an ASCII needle (given in lower case) case-insensitively.
func indexFold(b []byte, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(b); {
		j := bytes.IndexByte(b[i:], needle[0])
		if j < 0 {
			return -1
		}
		i += j
		if i+n > len(b) {
			return -1
		}
		ok := true
		for k := 1; k < n; k++ {
			ch := b[i+k]
			if ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			if ch != needle[k] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
		i++
	}
	return -1
}
