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
	var ps []*Features
	for _, p := range pages {
		if p != nil {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	b := &Baseline{Fetches: len(ps), Title: ps[0].Title, TitleStable: true, Words: ps[0].Words}
	hosts := map[string]bool{}
	hidden := map[string]bool{}
	blockSeen := map[uint64]int{}
	blockWords := map[uint64]int{}
	shingles := map[uint64]bool{}
	scripts := map[uint64]bool{}
	terms := map[string]bool{}
	hiddenKeys := map[uint64]bool{}
	for _, p := range ps {
		if maskDigits(p.Title) != maskDigits(b.Title) {
			b.TitleStable = false
		}
		b.Words = min(b.Words, p.Words)
		b.Binary = b.Binary || p.Cues.Binary
		for _, l := range p.Links {
			if l.Host != "" {
				hosts[l.Host] = true
			}
		}
		for _, hb := range p.Hidden {
			for _, h := range hb.Hosts {
				hidden[h] = true
			}
			hiddenKeys[hb.Key] = true
		}
		for i, k := range p.Blocks {
			blockSeen[k]++
			blockWords[k] = max(blockWords[k], p.BlockWords[i])
		}
		for _, s := range p.Shingles {
			shingles[s] = true
		}
		for _, s := range p.Scripts {
			scripts[s.Key] = true
		}
		for _, v := range p.Vocab {
			terms[v.Term] = true
		}
	}
	b.Hosts = sortedKeys(hosts)
	b.HiddenHosts = sortedKeys(hidden)
	b.Terms = sortedKeys(terms)
	for k, n := range blockSeen {
		if n == len(ps) {
			b.Stable = append(b.Stable, k)
		} else {
			b.Dynamic = append(b.Dynamic, k)
		}
	}
	sortU64(b.Stable)
	sortU64(b.Dynamic)
	for _, k := range b.Stable {
		b.StableWords = append(b.StableWords, blockWords[k])
	}
	for k := range shingles {
		b.Shingles = append(b.Shingles, k)
	}
	sortU64(b.Shingles)
	for k := range scripts {
		b.Scripts = append(b.Scripts, k)
	}
	sortU64(b.Scripts)
	for k := range hiddenKeys {
		b.HiddenKeys = append(b.HiddenKeys, k)
	}
	sortU64(b.HiddenKeys)
	return b
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
