package inventory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func deb(name, version string) Package {
	return Package{Ecosystem: EcosystemDeb, Name: name, Version: version, Arch: "amd64", SourceName: name, SourceVersion: version}
}

func rpmPkg(name, version string) Package {
	return Package{Ecosystem: EcosystemRPM, Name: name, Version: version, Arch: "x86_64"}
}

func TestDiff(t *testing.T) {
	old := []Package{deb("bash", "5.2.15-2"), deb("libc6", "2.36-9"), deb("gone", "1"),
		rpmPkg("kernel-core", "5.14.0-1"), rpmPkg("kernel-core", "5.14.0-2"), rpmPkg("kernel-core", "5.14.0-3")}
	cur := []Package{deb("libc6", "2.36-9+deb12u4"), deb("bash", "5.2.15-2"), deb("new", "1"),
		rpmPkg("kernel-core", "5.14.0-2"), rpmPkg("kernel-core", "5.14.0-3"), rpmPkg("kernel-core", "5.14.0-4")}
	d := Diff(old, cur)
	want := Delta{
		Added:   []Package{deb("new", "1")},
		Removed: []Package{deb("gone", "1")},
		Changed: []Change{
			{deb("libc6", "2.36-9"), deb("libc6", "2.36-9+deb12u4")},
			// One kernel left and one came: reported as a change of that key.
			{rpmPkg("kernel-core", "5.14.0-1"), rpmPkg("kernel-core", "5.14.0-4")},
		},
	}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("Diff:\n got %+v\nwant %+v", d, want)
	}
	checkApply(t, old, cur)
	if !Diff(cur, cur).Empty() {
		t.Error("Diff(cur, cur) not empty")
	}
	// Two kernels replaced by one: removals and an addition.
	d = Diff(old[3:], []Package{rpmPkg("kernel-core", "5.14.0-9")})
	if len(d.Removed) != 3 || len(d.Added) != 1 || len(d.Changed) != 0 {
		t.Errorf("kernels: %+v", d)
	}
}

func checkApply(t *testing.T, old, cur []Package) {
	t.Helper()
	oldCopy := slices.Clone(old)
	got := Diff(old, cur).Apply(old)
	want := slices.Clone(cur)
	SortPackages(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Apply(old, Diff(old, cur)) != cur\n got %v\nwant %v", got, want)
	}
	if !slices.Equal(old, oldCopy) {
		t.Fatal("Apply modified old")
	}
}

func TestDiffApplyRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() []Package {
		n := r.IntN(40)
		ps := make([]Package, n)
		for i := range ps {
			ps[i] = Package{
				Ecosystem: []string{EcosystemDeb, EcosystemRPM}[r.IntN(2)],
				Name:      fmt.Sprintf("p%d", r.IntN(12)),
				Arch:      []string{"amd64", "i386"}[r.IntN(2)],
				Version:   fmt.Sprintf("1.%d", r.IntN(3)),
				Origin:    []string{"", "x"}[r.IntN(2)],
			}
		}
		return ps
	}
	for range 2000 {
		checkApply(t, gen(), gen())
	}
}

func TestApplyToWrongBase(t *testing.T) {
	d := Diff([]Package{deb("a", "1")}, []Package{deb("a", "2"), deb("b", "1")})
	got := d.Apply(nil)
	if len(got) != 2 || got[0] != deb("a", "2") || got[1] != deb("b", "1") {
		t.Errorf("got %v", got)
	}
}

func BenchmarkDiff(b *testing.B) {
	old := syntheticPackages(20000)
	cur := slices.Clone(old)
	for i := 0; i < len(cur); i += 50 {
		cur[i].Version += "+1"
	}
	b.ResetTimer()
	for b.Loop() {
		Diff(old, cur).Apply(old)
	}
}

func syntheticPackages(n int) []Package {
	ps := make([]Package, n)
	for i := range ps {
		ps[i] = deb("pkg-"+strings.Repeat("x", i%7)+fmt.Sprint(i), fmt.Sprintf("1.%d-%d", i%13, i%5))
	}
	return ps
}
