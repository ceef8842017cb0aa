package page

import (
	"sort"
	"strings"
)

// Baseline is what a page normally looks like, learned from one or more
// fetches. Text blocks present in every fetch are stable; blocks seen in only
// some fetches are dynamic (news lists, ad slots) and are not held against
// the page. Digits are masked before hashing, so dates and counters never
// count as change. It is JSON-serialisable for storage.
type Baseline struct {
	Fetches int    `json:"fetches"`
	Title   string `json:"title"`
	// TitleStable is false when the title differed between fetches.
	TitleStable bool `json:"title_stable"`
	// Hosts are every host (internal and external) referenced in any fetch.
	Hosts []string `json:"hosts"`
	// HiddenHosts are external hosts already linked from hidden containers.
	HiddenHosts []string `json:"hidden_hosts,omitempty"`
	Stable      []uint64 `json:"stable_blocks"`
	StableWords []int    `json:"stable_words"`
	Dynamic     []uint64 `json:"dynamic_blocks,omitempty"`
	Words       int      `json:"words"` // smallest visible word count seen
	Shingles    []uint64 `json:"shingles"`
	Scripts     []uint64 `json:"scripts,omitempty"`     // suspicious-script keys already present
	Terms       []string `json:"terms,omitempty"`       // vocabulary terms already present
	HiddenKeys  []uint64 `json:"hidden_keys,omitempty"` // hidden link blocks already present
	Binary      bool     `json:"binary,omitempty"`
}

// Learn builds a baseline from fetches of the same page. Nil pages are
// skipped; with none it returns nil.
func Learn(pages ...*Features) *Baseline {
	var b *Baseline
	for _, p := range pages {
		b = b.Add(p)
	}
	return b
}

// Add folds one more fetch into a baseline and returns it; on a nil
// baseline it starts one. Learning this way needs only the baseline in
// memory, never the fetches themselves, so thousands of monitors can
// learn at once. A block is stable while every fetch so far had it; a
// block missing from any fetch is dynamic from then on.
func (b *Baseline) Add(p *Features) *Baseline {
	if p == nil {
		return b
	}
	if b == nil {
		b = &Baseline{Title: p.Title, TitleStable: true, Words: p.Words}
	}
	first := b.Fetches == 0
	b.Fetches++
	if maskDigits(p.Title) != maskDigits(b.Title) {
		b.TitleStable = false
	}
	b.Words = min(b.Words, p.Words)
	b.Binary = b.Binary || p.Cues.Binary
	hosts := setOf(b.Hosts)
	for _, l := range p.Links {
		if l.Host != "" {
			hosts[l.Host] = true
		}
	}
	hidden, hiddenKeys := setOf(b.HiddenHosts), setU64(b.HiddenKeys)
	for _, hb := range p.Hidden {
		for _, h := range hb.Hosts {
			hidden[h] = true
		}
		hiddenKeys[hb.Key] = true
	}
	terms := setOf(b.Terms)
	for _, v := range p.Vocab {
		terms[v.Term] = true
	}
	b.Hosts, b.HiddenHosts, b.Terms = sortedKeys(hosts), sortedKeys(hidden), sortedKeys(terms)

	// Blocks: stable ∩ this fetch stays stable; everything else seen is dynamic.
	words := map[uint64]int{}
	for i, k := range p.Blocks {
		words[k] = max(words[k], p.BlockWords[i])
	}
	dynamic := setU64(b.Dynamic)
	var stable []uint64
	var stableWords []int
	if first {
		for k := range words {
			stable = append(stable, k)
		}
		sortU64(stable)
	} else {
		for i, k := range b.Stable {
			if w, ok := words[k]; ok {
				stable = append(stable, k)
				stableWords = append(stableWords, max(w, b.StableWords[i]))
			} else {
				dynamic[k] = true
			}
		}
		kept := setU64(stable)
		for k := range words {
			if !kept[k] {
				dynamic[k] = true
			}
		}
	}
	if first {
		for _, k := range stable {
			stableWords = append(stableWords, words[k])
		}
	}
	b.Stable, b.StableWords = stable, stableWords
	b.Dynamic = keysU64(dynamic)
	b.Shingles = keysU64(union(setU64(b.Shingles), p.Shingles))
	scripts := setU64(b.Scripts)
	for _, s := range p.Scripts {
		scripts[s.Key] = true
	}
	b.Scripts = keysU64(scripts)
	b.HiddenKeys = keysU64(hiddenKeys)
	return b
}

func union(m map[uint64]bool, ks []uint64) map[uint64]bool {
	for _, k := range ks {
		m[k] = true
	}
	return m
}

func keysU64(m map[uint64]bool) []uint64 {
	if len(m) == 0 {
		return nil
	}
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortU64(out)
	return out
}

// index is a baseline's lookup structures, built once per Analyze.
type index struct {
	hosts, hiddenHosts, terms map[string]bool
	sites                     map[string]bool // hosts' sites, digits masked
	stable, dynamic, scripts  map[uint64]bool
	shingles, hiddenKeys      map[uint64]bool
}

func (b *Baseline) index() *index {
	ix := &index{
		hosts: setOf(b.Hosts), hiddenHosts: setOf(b.HiddenHosts), terms: setOf(b.Terms),
		stable: setU64(b.Stable), dynamic: setU64(b.Dynamic), scripts: setU64(b.Scripts),
		shingles: setU64(b.Shingles), sites: map[string]bool{}, hiddenKeys: setU64(b.HiddenKeys),
	}
	for _, h := range b.Hosts {
		ix.sites[siteKey(h)] = true
	}
	return ix
}

func maskDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '0'
		}
		return r
	}, strings.Join(strings.Fields(s), " "))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortU64(s []uint64) { sort.Slice(s, func(i, j int) bool { return s[i] < s[j] }) }

func setOf(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

func setU64(ss []uint64) map[uint64]bool {
	m := make(map[uint64]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// siteKey groups a host with its siblings: CDN shards (static06.nyt.com,
// img2.gtimg.com) and numbered subdomains are the same site.
func siteKey(h string) string { return maskDigits(siteOf(h)) }
