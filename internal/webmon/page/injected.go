package page

import (
	"hash/fnv"
	"strings"
)

// Stored-XSS defacements: the attacker types a <script src=…> into a field
// the site prints raw (a menu label, a news title, a contact line), so the
// script element sits inside the page's content, often a link or a heading
// where no template puts one, and loads its banner from a paste site's raw
// URL or a file named by an opaque token. Sites and vendors load code from
// the head or the end of the body, under ordinary file names.

// textParents are elements whose content is a label a CMS fills from a text
// field; a template seldom places an external script there (consent and blog
// widgets do, so this alone weighs little).
var textParents = map[string]bool{
	"a": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"title": true, "button": true, "label": true, "option": true, "caption": true,
}

// scriptSrc classifies an external script by where it sits and what it loads.
func (e *extractor) scriptSrc(parent, src string) {
	inText := textParents[parent]
	load := scriptLoad(src)
	inHead := parent == "head" || parent == "html" || parent == "#root"
	var kind string
	switch {
	case load != "" && !inHead && parent != "body", load == "paste" && !inHead:
		// Inside the page's content (a label, a paragraph, a box): where a
		// stored field is printed, not where a site or vendor loads code.
		kind = "injected_script"
	case inText:
		kind = "script_in_text"
	case load != "" && !inHead:
		kind = "opaque_script_body"
	case load != "":
		kind = "opaque_script_src"
	default:
		return
	}
	detail := "<script src=" + truncate(src, 120) + "> inside <" + strings.TrimPrefix(parent, "#") + ">"
	var targets []string
	if h := hostOf(src); h != "" {
		targets = []string{h}
	}
	e.addFinding(kind, detail, src, targets)
}

// titleMarkup flags a <title> holding script markup: the page's name comes
// from a record whose text field was stuffed with a script.
func (e *extractor) titleMarkup(title string) {
	if indexFold([]byte(title), "<script") >= 0 {
		e.addFinding("script_markup_in_title", "the title holds script markup: "+truncate(title, 120), title, nil)
	}
}

// markupInURL flags a link whose address holds script markup: a text field
// stuffed with <script> that the site printed into an attribute.
func (e *extractor) markupInURL(u string) {
	if indexFold([]byte(u[:min(len(u), 2048)]), "<script") >= 0 {
		e.addFinding("script_markup_in_url", "link address holds script markup: "+truncate(u, 120), u, nil)
	}
}

func (e *extractor) addFinding(kind, detail, id string, targets []string) {
	if len(e.f.Scripts) >= 64 {
		return
	}
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte(id))
	key := h.Sum64()
	for _, x := range e.f.Scripts {
		if x.Key == key {
			return
		}
	}
	e.f.Scripts = append(e.f.Scripts, ScriptFinding{Kind: kind, Detail: detail, Key: key, Targets: targets})
}

// scriptLoad tells what a script URL loads: "paste" for a paste site's
// /raw/ path, "token" for a file named by an opaque token with no extension
// (8YJCO6WWIJAR8), "" for the ordinary way a site ships its own code or a
// vendor's widget.
func scriptLoad(src string) string {
	u := src
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		if i+1 < len(u) && u[i] == '?' {
			return "" // versioned or keyed loaders (maps/api/js?key=…)
		}
		u = u[:i]
	}
	if strings.Contains(u, "/raw/") && !strings.HasSuffix(u, ".js") {
		if h := hostOf(u); h != "" && h != "raw.githubusercontent.com" {
			return "paste"
		}
	}
	seg := u[strings.LastIndexByte(u, '/')+1:]
	if len(seg) < 8 || len(seg) > 40 {
		return ""
	}
	upper, digit := 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= '0' && c <= '9':
			digit++
		default:
			return "" // lower case, dots, dashes: a name, not a token
		}
	}
	if upper >= 4 && digit >= 1 {
		return "token"
	}
	return ""
}

// srcdoc extracts an iframe's inline document, which the visitor sees.
func (e *extractor) srcdoc(doc string) {
	if e.depth >= 3 || len(e.inline) >= 16 || len(e.frames) >= 8 {
		return
	}
	if sub, err := e.sub([]byte(doc)); err == nil {
		e.inline = append(e.inline, sub)
		e.frames = append(e.frames, sub)
	}
}
