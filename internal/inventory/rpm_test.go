package inventory

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// rpmTag is one tag of a header built by buildRPMHeader. A string value is
// stored as RPM_STRING_TYPE (or typ when set), an int32 as RPM_INT32_TYPE.
type rpmTag struct {
	tag int32
	typ uint32
	val any // string or int32
}

// buildRPMHeader builds a header blob in the layout the rpm database stores
// (no magic): il, dl, il index entries and the data store, all big-endian,
// as described in ParseRPMHeader. Like rpm it starts with an immutable
// region tag (63, RPM_BIN_TYPE, 16 bytes of trailer at the end of the data),
// sorts the entries by tag and aligns int32 data to 4 bytes.
func buildRPMHeader(tags []rpmTag) []byte {
	tags = append([]rpmTag(nil), tags...)
	sort.Slice(tags, func(i, j int) bool { return tags[i].tag < tags[j].tag })
	var data bytes.Buffer
	type entry struct {
		tag   int32
		typ   uint32
		off   int32
		count uint32
	}
	var ents []entry
	for _, t := range tags {
		switch v := t.val.(type) {
		case string:
			typ := t.typ
			if typ == 0 {
				typ = rpmTypeString
			}
			ents = append(ents, entry{t.tag, typ, int32(data.Len()), 1})
			data.WriteString(v)
			data.WriteByte(0)
		case int32:
			for data.Len()%4 != 0 {
				data.WriteByte(0)
			}
			ents = append(ents, entry{t.tag, rpmTypeInt32, int32(data.Len()), 1})
			binary.Write(&data, binary.BigEndian, v)
		}
	}
	// Region trailer: an index entry pointing back over the whole index.
	for data.Len()%4 != 0 {
		data.WriteByte(0)
	}
	trailerOff := data.Len()
	il := len(ents) + 1
	binary.Write(&data, binary.BigEndian, []int32{63, rpmTypeBin, int32(-il * 16), 16})
	ents = append([]entry{{63, rpmTypeBin, int32(trailerOff), 16}}, ents...)
	var out bytes.Buffer
	binary.Write(&out, binary.BigEndian, uint32(il))
	binary.Write(&out, binary.BigEndian, uint32(data.Len()))
	for _, e := range ents {
		binary.Write(&out, binary.BigEndian, e)
	}
	out.Write(data.Bytes())
	return out.Bytes()
}

func rpmPkgTags(name, version, release string, epoch int32, arch, srpm, vendor string) []rpmTag {
	t := []rpmTag{
		{tag: rpmTagName, val: name},
		{tag: rpmTagVersion, val: version},
		{tag: rpmTagRelease, val: release},
		{tag: 1004, typ: rpmTypeI18NString, val: "summary of " + name},
	}
	if epoch >= 0 {
		t = append(t, rpmTag{tag: rpmTagEpoch, val: epoch})
	}
	if arch != "" {
		t = append(t, rpmTag{tag: rpmTagArch, val: arch})
	}
	if srpm != "" {
		t = append(t, rpmTag{tag: rpmTagSourceRPM, val: srpm})
	}
	if vendor != "" {
		t = append(t, rpmTag{tag: rpmTagVendor, val: vendor})
	}
	return t
}

func TestParseRPMHeader(t *testing.T) {
	blob := buildRPMHeader(rpmPkgTags("openssl-libs", "3.0.7", "25.el9_3", 1, "x86_64", "openssl-3.0.7-25.el9_3.src.rpm", "Rocky Enterprise Software Foundation"))
	h, err := ParseRPMHeader(blob)
	if err != nil {
		t.Fatal(err)
	}
	want := Package{EcosystemRPM, "openssl-libs", "1:3.0.7-25.el9_3", "x86_64", "openssl", "1:3.0.7-25.el9_3", "Rocky Enterprise Software Foundation"}
	if got := h.Package(); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// With the package-file magic in front.
	if h2, err := ParseRPMHeader(append(append([]byte{}, rpmHeaderMagic...), blob...)); err != nil || h2 != h {
		t.Errorf("with magic: %+v, %v", h2, err)
	}
	h, err = ParseRPMHeader(buildRPMHeader(rpmPkgTags("bash", "5.1.8", "6.el9_1", -1, "x86_64", "bash-5.1.8-6.el9_1.src.rpm", "")))
	if err != nil {
		t.Fatal(err)
	}
	if p := h.Package(); p.Version != "5.1.8-6.el9_1" || p.SourceName != "bash" || p.SourceVersion != "5.1.8-6.el9_1" || p.Origin != "" {
		t.Errorf("bash: %+v", p)
	}
}

func TestParseRPMHeaderRejects(t *testing.T) {
	good := buildRPMHeader(rpmPkgTags("a", "1", "1", 0, "noarch", "", ""))
	be := binary.BigEndian
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":     nil,
		"short":     good[:7],
		"truncated": good[:len(good)-1],
		"il zero":   mod(func(b []byte) []byte { be.PutUint32(b[0:], 0); return b }),
		"il huge":   mod(func(b []byte) []byte { be.PutUint32(b[0:], 1<<30); return b }),
		"dl huge":   mod(func(b []byte) []byte { be.PutUint32(b[4:], 1<<30); return b }),
		// Entry 1 is NAME (entry 0 is the region tag): point it past the data.
		"name offset":   mod(func(b []byte) []byte { be.PutUint32(b[8+16+8:], 1<<20); return b }),
		"name negative": mod(func(b []byte) []byte { be.PutUint32(b[8+16+8:], 0xffffff00); return b }),
		"name type":     mod(func(b []byte) []byte { be.PutUint32(b[8+16+4:], rpmTypeInt32); return b }),
		"no name":       buildRPMHeader([]rpmTag{{tag: rpmTagVersion, val: "1"}}),
		"epoch type":    buildRPMHeader([]rpmTag{{tag: rpmTagName, val: "x"}, {tag: rpmTagEpoch, typ: rpmTypeString, val: "1"}}),
		"long name":     buildRPMHeader([]rpmTag{{tag: rpmTagName, val: strings.Repeat("n", MaxFieldLen+1)}}),
	}
	// Unterminated string: drop the data's trailing bytes so NAME runs off the end.
	unterm := buildRPMHeader([]rpmTag{{tag: rpmTagName, val: "abc"}})
	cases["unterminated"] = unterm
	be.PutUint32(unterm[8+16+8:], uint32(be.Uint32(unterm[4:])-1)) // last byte of data, not NUL
	unterm[len(unterm)-1] = 'x'
	for name, b := range cases {
		if _, err := ParseRPMHeader(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// writeRPMSQLite creates an rpmdb.sqlite with the schema rpm's sqlite
// backend uses (Packages(hnum, blob) plus an index table) and the given
// header blobs.
func writeRPMSQLite(t testing.TB, path string, blobs [][]byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)`,
		`CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES Packages(hnum))`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range blobs {
		if _, err := db.Exec(`INSERT INTO Packages (blob) VALUES (?)`, b); err != nil {
			t.Fatal(err)
		}
	}
}

func rockyBlobs() [][]byte {
	const v = "Rocky Enterprise Software Foundation"
	return [][]byte{
		buildRPMHeader(rpmPkgTags("bash", "5.1.8", "6.el9_1", -1, "x86_64", "bash-5.1.8-6.el9_1.src.rpm", v)),
		buildRPMHeader(rpmPkgTags("openssl-libs", "3.0.7", "25.el9_3", 1, "x86_64", "openssl-3.0.7-25.el9_3.src.rpm", v)),
		buildRPMHeader(rpmPkgTags("kernel-core", "5.14.0", "362.8.1.el9_3", -1, "x86_64", "kernel-5.14.0-362.8.1.el9_3.src.rpm", v)),
		buildRPMHeader(rpmPkgTags("kernel-core", "5.14.0", "362.18.1.el9_3", -1, "x86_64", "kernel-5.14.0-362.18.1.el9_3.src.rpm", v)),
		buildRPMHeader(rpmPkgTags("tzdata", "2023c", "1.el9", -1, "noarch", "tzdata-2023c-1.el9.src.rpm", v)),
		buildRPMHeader(rpmPkgTags("gpg-pubkey", "350d275d", "6279464b", -1, "", "", "")),
	}
}

func TestParseRPMSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	writeRPMSQLite(t, path, rockyBlobs())
	pkgs, err := ParseRPMSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 5 {
		t.Fatalf("got %d packages (%+v), want 5 without gpg-pubkey", len(pkgs), pkgs)
	}
	if p := findPkg(t, pkgs, "openssl-libs"); p.Version != "1:3.0.7-25.el9_3" || p.SourceName != "openssl" {
		t.Errorf("openssl-libs: %+v", p)
	}
	if p := findPkg(t, pkgs, "tzdata"); p.Arch != "noarch" || p.Version != "2023c-1.el9" {
		t.Errorf("tzdata: %+v", p)
	}

	// A corrupt blob is an error naming the row.
	bad := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	writeRPMSQLite(t, bad, [][]byte{[]byte("garbage!")})
	if _, err := ParseRPMSQLite(bad); err == nil || !strings.Contains(err.Error(), "package 1") {
		t.Errorf("corrupt blob: err = %v", err)
	}
}

func TestDetectRPMDB(t *testing.T) {
	dir := t.TempDir()
	bdb := make([]byte, 4096)
	binary.LittleEndian.PutUint32(bdb[12:], 0x061561)
	ndb := append([]byte("RpmPkg"), make([]byte, 100)...)
	for name, b := range map[string][]byte{"Packages": bdb, "Packages.db": ndb} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		if _, err := ParseRPMSQLite(p); !errors.Is(err, ErrUnsupportedRPMDB) {
			t.Errorf("ParseRPMSQLite(%s): err = %v, want ErrUnsupportedRPMDB", name, err)
		}
		if _, err := ParseRPMDB(p); err == nil || errors.Is(err, ErrUnsupportedRPMDB) {
			t.Errorf("ParseRPMDB(%s), a corrupt database: err = %v", name, err)
		}
	}
	p := filepath.Join(dir, "text")
	os.WriteFile(p, []byte("hello, this is not a database"), 0o644)
	if _, err := ParseRPMDB(p); !errors.Is(err, ErrUnsupportedRPMDB) {
		t.Errorf("text: err = %v", err)
	}
	if _, err := ParseRPMDB(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: err = %v", err)
	}
}

// gunzipFixture writes testdata/name.gz, decompressed, into a temporary
// directory and returns its path.
func gunzipFixture(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "Packages")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The Berkeley DB fixtures were written by Berkeley DB 5.3.28's db_load
// (Debian package db5.3-util) from a dump of bdbFixtureBlobs, each keyed by
// its record number as a 4-byte little-endian integer and preceded by
// rpm's key 0 record: rpm-bdb-Packages with 4096-byte pages in little-endian
// order, .be in big-endian order (db_lorder=4321), and .chksum512 with
// 512-byte pages and page checksums (chksum=1). db5.3_verify accepts all
// three.
func TestParseRPMBerkeleyDB(t *testing.T) {
	want := wantFixturePackages(bdbFixtureBlobs())
	for _, name := range []string{"rpm-bdb-Packages", "rpm-bdb-Packages.be", "rpm-bdb-Packages.chksum512"} {
		p := gunzipFixture(t, name)
		got, err := ParseRPMDB(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		SortPackages(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %d packages, want %d\n%v", name, len(got), len(want), got)
		}
	}
	// Corruption anywhere is an error, never a panic.
	b, _ := os.ReadFile(gunzipFixture(t, "rpm-bdb-Packages"))
	for _, off := range []int{20, 25, 32, 4096 + 20, 4096 + 26, 4096*3 + 16, 4096*3 + 22, 4096*5 + 25} {
		c := slices.Clone(b)
		c[off] ^= 0xff
		c[off+1] ^= 0x7f
		parseBerkeleyDB(bytes.NewReader(c), int64(len(c)))
	}
	if _, err := parseBerkeleyDB(bytes.NewReader(b[:4096*4]), 4096*4); err == nil {
		t.Error("truncated database: no error")
	}
}

func wantFixturePackages(blobs [][]byte) []Package {
	var want []Package
	for _, b := range blobs {
		h, err := ParseRPMHeader(b)
		if err != nil {
			panic(err)
		}
		if h.Name != "gpg-pubkey" {
			want = append(want, h.Package())
		}
	}
	SortPackages(want)
	return want
}

// writeNDB builds an NDB Packages.db holding blobs, following the layout
// documented in rpm_ndb.go (rpm's lib/backend/ndb/rpmpkg.c): one slot page
// (header, then slots), blobs from block 256 on, each with its head,
// padding and tail with the Adler-32 checksum. Package indexes start at 1.
func writeNDB(blobs [][]byte) []byte {
	le := binary.LittleEndian
	out := make([]byte, ndbPageSize)
	le.PutUint32(out[0:], ndbMagic)
	le.PutUint32(out[8:], 7) // generation
	le.PutUint32(out[12:], 1)
	le.PutUint32(out[16:], uint32(len(blobs)+1))
	for o := ndbHeaderSize; o < ndbPageSize; o += ndbSlotSize {
		le.PutUint32(out[o:], ndbSlotMagic)
	}
	for i, b := range blobs {
		pkgidx := uint32(i + 1)
		blkoff := len(out) / ndbBlockSize
		blkcnt := (ndbBlobHeadSize + len(b) + ndbBlobTailSize + ndbBlockSize - 1) / ndbBlockSize
		blob := make([]byte, blkcnt*ndbBlockSize)
		le.PutUint32(blob[0:], ndbBlobHeadMagic)
		le.PutUint32(blob[4:], pkgidx)
		le.PutUint32(blob[8:], 1700000000)
		le.PutUint32(blob[12:], uint32(len(b)))
		copy(blob[ndbBlobHeadSize:], b)
		tail := blob[len(blob)-ndbBlobTailSize:]
		le.PutUint32(tail[0:], adler32.Checksum(blob[:len(blob)-ndbBlobTailSize]))
		le.PutUint32(tail[4:], uint32(len(b)))
		le.PutUint32(tail[8:], ndbBlobTailMagic)
		out = append(out, blob...)
		// Leave every third slot free to exercise the free-slot path.
		slot := ndbHeaderSize + (i+i/2)*ndbSlotSize
		le.PutUint32(out[slot+4:], pkgidx)
		le.PutUint32(out[slot+8:], uint32(blkoff))
		le.PutUint32(out[slot+12:], uint32(blkcnt))
	}
	return out
}

func TestParseRPMNDB(t *testing.T) {
	blobs := bdbFixtureBlobs()
	db := writeNDB(blobs)
	p := filepath.Join(t.TempDir(), "Packages.db")
	os.WriteFile(p, db, 0o644)
	got, err := ParseRPMDB(p)
	if err != nil {
		t.Fatal(err)
	}
	SortPackages(got)
	if want := wantFixturePackages(blobs); !slices.Equal(got, want) {
		t.Errorf("got %d packages, want %d", len(got), len(want))
	}
	for name, off := range map[string]int{
		"slot magic":   ndbHeaderSize,
		"slot blocks":  ndbHeaderSize + 8,
		"blob head":    ndbPageSize,
		"blob content": ndbPageSize + 40,
		"version":      4,
		"slot pages":   12,
	} {
		c := slices.Clone(db)
		c[off] ^= 0x55
		if _, err := parseNDB(bytes.NewReader(c), int64(len(c))); err == nil {
			t.Errorf("%s corrupted: no error", name)
		}
	}
}

func TestSplitSourceRPM(t *testing.T) {
	for in, want := range map[string][3]string{
		"bash-5.1.8-6.el9_1.src.rpm":          {"bash", "5.1.8", "6.el9_1"},
		"python-dateutil-2.8.1-7.el9.src.rpm": {"python-dateutil", "2.8.1", "7.el9"},
		"foo-1-2.nosrc.rpm":                   {"foo", "1", "2"},
		"nodash.src.rpm":                      {},
		"a-b.src.rpm":                         {},
		"-1-2.src.rpm":                        {},
	} {
		n, v, r, ok := splitSourceRPM(in)
		if got := [3]string{n, v, r}; got != want || ok != (want[0] != "") {
			t.Errorf("%s: got %v %v", in, got, ok)
		}
	}
}
