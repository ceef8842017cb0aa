package crawl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseFeed reads an RSS (2.0, 0.9x or 1.0/RDF) or Atom feed and returns
// its item links: the <link> of each RSS <item>, and the href of each Atom
// <entry>'s <link> whose rel is "alternate" or absent. A gzipped stream is
// gunzipped. At most max links (DefaultMax when max <= 0) are returned,
// duplicates and malformed or non-http(s) links dropped. A document larger
// than MaxDecoded fails with ErrTooLarge, one whose root is not a feed with
// ErrNotFeed; on other errors the links read so far are returned with the
// error.
func ParseFeed(r io.Reader, max int) ([]string, error) {
	var links []string
	in, err := open(r)
	if err != nil {
		return nil, err
	}
	d := newDecoder(in)
	c := newCollector(max)
	var stack []string
	var text bytes.Buffer
	root := ""
	for !c.full() {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if root == "" && !errors.Is(err, ErrTooLarge) {
				return links, fmt.Errorf("%w: %v", ErrNotFeed, err)
			}
			return links, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if root == "" {
				if name != "rss" && name != "feed" && name != "rdf" {
					return links, fmt.Errorf("%w: root element <%s>", ErrNotFeed, t.Name.Local)
				}
				root = name
			}
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			stack = append(stack, name)
			if name != "link" {
				continue
			}
			text.Reset()
			if root == "feed" && parent == "entry" {
				var href, rel string
				for _, a := range t.Attr {
					switch strings.ToLower(a.Name.Local) {
					case "href":
						href = a.Value
					case "rel":
						rel = strings.ToLower(strings.TrimSpace(a.Value))
					}
				}
				if rel == "" || rel == "alternate" {
					c.add(&links, href)
				}
			}
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] == "link" && text.Len() <= maxURLLen {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if name == "link" && root != "feed" && len(stack) > 0 && stack[len(stack)-1] == "item" {
				c.add(&links, text.String())
			}
		}
	}
	if root == "" {
		return links, fmt.Errorf("%w: no root element", ErrNotFeed)
	}
	return links, nil
}
