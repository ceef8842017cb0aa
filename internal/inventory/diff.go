package inventory

import (
	"cmp"
	"slices"
)

// Delta is the difference between two package lists, as computed by [Diff].
type Delta struct {
	Added   []Package `json:"added,omitempty"`
	Removed []Package `json:"removed,omitempty"`
	Changed []Change  `json:"changed,omitempty"`
}

// Change is a package whose version or metadata changed.
type Change struct {
	Old Package `json:"old"`
	New Package `json:"new"`
}

// Empty reports whether d records no difference.
func (d Delta) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// comparePackages orders packages by key, then version, then the other
// fields, so that sorting is deterministic for identical keys.
func comparePackages(a, b Package) int {
	return cmp.Or(
		cmp.Compare(a.Ecosystem, b.Ecosystem),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Arch, b.Arch),
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.SourceName, b.SourceName),
		cmp.Compare(a.SourceVersion, b.SourceVersion),
		cmp.Compare(a.Origin, b.Origin),
	)
}

// SortPackages sorts pkgs by ecosystem, name, arch, version and then the
// remaining fields.
func SortPackages(pkgs []Package) {
	slices.SortFunc(pkgs, comparePackages)
}

// Diff returns the changes that turn old into cur, matching packages by
// [Package.Key]. Packages present unchanged in both are not reported. When
// a key has exactly one differing package on each side the pair is a
// [Change]; when a key holds several packages on either side (rpm
// install-only packages such as several kernels) the packages that differ
// are reported as removed and added. The inputs are not modified; the
// result's lists are sorted.
func Diff(old, cur []Package) Delta {
	group := func(ps []Package) map[string][]Package {
		m := make(map[string][]Package, len(ps))
		for _, p := range ps {
			m[p.Key()] = append(m[p.Key()], p)
		}
		return m
	}
	og, cg := group(old), group(cur)
	var d Delta
	for k, os := range og {
		cs := cg[k]
		os, cs = subtractEqual(os, cs)
		if len(os) == 1 && len(cs) == 1 {
			d.Changed = append(d.Changed, Change{Old: os[0], New: cs[0]})
			continue
		}
		d.Removed = append(d.Removed, os...)
		d.Added = append(d.Added, cs...)
	}
	for k, cs := range cg {
		if _, ok := og[k]; !ok {
			d.Added = append(d.Added, cs...)
		}
	}
	SortPackages(d.Added)
	SortPackages(d.Removed)
	slices.SortFunc(d.Changed, func(a, b Change) int {
		return cmp.Or(comparePackages(a.Old, b.Old), comparePackages(a.New, b.New))
	})
	return d
}

// subtractEqual removes the packages present in both a and b (as a
// multiset) and returns what remains of each.
func subtractEqual(a, b []Package) (ra, rb []Package) {
	if len(a) == 1 && len(b) == 1 {
		if a[0] == b[0] {
			return nil, nil
		}
		return a, b
	}
	inB := make(map[Package]int, len(b))
	for _, q := range b {
		inB[q]++
	}
	for _, p := range a {
		if inB[p] > 0 {
			inB[p]--
			continue
		}
		ra = append(ra, p)
	}
	// What is left in inB is b's share that a did not match.
	for _, q := range b {
		if inB[q] > 0 {
			inB[q]--
			rb = append(rb, q)
		}
	}
	return ra, rb
}

// Apply returns old with the delta applied, sorted by [SortPackages]; old
// itself is not modified. For any two lists,
// Diff(old, cur).Apply(old) equals cur sorted. Removals and changes whose
// old package is not in old are ignored (a change then adds its new
// package), so applying a delta to the wrong base degrades gracefully.
func (d Delta) Apply(old []Package) []Package {
	drop := make(map[Package]int, len(d.Removed)+len(d.Changed))
	for _, p := range d.Removed {
		drop[p]++
	}
	for _, c := range d.Changed {
		drop[c.Old]++
	}
	out := make([]Package, 0, len(old)+len(d.Added)+len(d.Changed))
	for _, p := range old {
		if drop[p] > 0 {
			drop[p]--
			continue
		}
		out = append(out, p)
	}
	for _, c := range d.Changed {
		out = append(out, c.New)
	}
	out = append(out, d.Added...)
	SortPackages(out)
	return out
}
