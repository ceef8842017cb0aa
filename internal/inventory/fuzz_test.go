package inventory

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

func FuzzParseDpkgStatus(f *testing.F) {
	if b, err := os.ReadFile("testdata/dpkg-status"); err == nil {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1:2-3\nSource: s (4)\n\nPackage: b\n"))
	f.Add([]byte("Package: a\r\n x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := ParseDpkgStatus(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.Ecosystem != EcosystemDeb {
				t.Fatalf("bad package %+v", p)
			}
			if len(p.Name) > MaxFieldLen || len(p.SourceName) > MaxFieldLen {
				t.Fatalf("oversized field")
			}
		}
	})
}

func FuzzParseApkInstalled(f *testing.F) {
	if b, err := os.ReadFile("testdata/apk-installed"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("P:a\nV:1-r0\no:b\n\n\nP:c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := ParseApkInstalled(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.SourceName == "" {
				t.Fatalf("bad package %+v", p)
			}
		}
	})
}

func FuzzParseRPMHeader(f *testing.F) {
	for _, b := range rockyBlobs() {
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b', 'c', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseRPMHeader(b)
		if err != nil {
			return
		}
		if h.Name == "" || strings.IndexByte(h.Name, 0) >= 0 || len(h.Name) > MaxFieldLen {
			t.Fatalf("bad name %q", h.Name)
		}
		p := h.Package()
		if p.Name != h.Name {
			t.Fatal("Package changed the name")
		}
	})
}

// FuzzParseRPMBerkeleyDB mutates a small Berkeley DB hash file (a
// metadata page, one hash page and overflow pages, as db_load writes them).
func FuzzParseRPMBerkeleyDB(f *testing.F) {
	if b, err := os.ReadFile("testdata/rpm-bdb-Packages.chksum512.gz"); err == nil {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if db, err := io.ReadAll(zr); err == nil {
				f.Add(db[:min(len(db), 512*24)])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseBerkeleyDB(bytes.NewReader(b), int64(len(b)))
	})
}

func FuzzParseRPMNDB(f *testing.F) {
	f.Add(writeNDB(rockyBlobs()))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseNDB(bytes.NewReader(b), int64(len(b)))
	})
}

// syntheticDpkgStatus returns a status file of n installed packages shaped
// like real ones (multi-line descriptions, Source with version, epochs).
func syntheticDpkgStatus(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "Package: lib-synthetic%d\nStatus: install ok installed\nPriority: optional\nSection: libs\n", i)
		fmt.Fprintf(&b, "Installed-Size: %d\nMaintainer: Debian Maintainers <debian@example.org>\nArchitecture: amd64\nMulti-Arch: same\n", 100+i)
		fmt.Fprintf(&b, "Source: synthetic%d (1.%d.0-1)\nVersion: %d:1.%d.0-1+b1\n", i/3, i, i%3, i)
		fmt.Fprintf(&b, "Depends: libc6 (>= 2.34), zlib1g (>= 1:1.2.0)\nDescription: synthetic library %d\n", i)
		b.WriteString(" This is a long description of a synthetic package used to\n benchmark the parser. It spans several lines like real ones.\n .\n Another paragraph.\n")
		b.WriteString("Homepage: https://example.org/\n\n")
	}
	return b.Bytes()
}

func BenchmarkParseDpkgStatus(b *testing.B) {
	data := syntheticDpkgStatus(1500)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		pkgs, err := ParseDpkgStatus(bytes.NewReader(data))
		if err != nil || len(pkgs) != 1500 {
			b.Fatal(len(pkgs), err)
		}
	}
}
