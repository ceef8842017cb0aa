// Package i18n holds the UI's message catalogs. Vietnamese is the default
// language and English the second; every user-facing string has a key in
// both catalogs (a test enforces it).
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed catalogs/*.json
var files embed.FS

// Default is the language used when none is chosen.
const Default = "vi"

// Langs are the supported languages, default first.
var Langs = []string{"vi", "en"}

var catalogs = load()

func load() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range Langs {
		b, err := files.ReadFile("catalogs/" + l + ".json")
		if err != nil {
			panic(fmt.Sprintf("i18n: catalog %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: catalog %s: %v", l, err))
		}
		out[l] = m
	}
	return out
}

// Supported reports whether lang has a catalog.
func Supported(lang string) bool { _, ok := catalogs[lang]; return ok }

// T returns the message for key in lang, formatted with args (fmt verbs).
// A missing key falls back to Vietnamese, then to the key itself.
func T(lang, key string, args ...any) string {
	msg, ok := catalogs[lang][key]
	if !ok {
		msg, ok = catalogs[Default][key]
	}
	if !ok {
		msg = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Has reports whether lang's catalog has key.
func Has(lang, key string) bool { _, ok := catalogs[lang][key]; return ok }

// Keys lists lang's keys, sorted.
func Keys(lang string) []string {
	ks := make([]string, 0, len(catalogs[lang]))
	for k := range catalogs[lang] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Negotiate picks a supported language from an Accept-Language header.
func Negotiate(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if Supported(base) {
			return base
		}
	}
	return Default
}
