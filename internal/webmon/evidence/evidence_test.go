package evidence

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPut(t testing.TB, s *Store, data []byte) string {
	t.Helper()
	key, err := s.Put(data)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return key
}

func setMtime(t testing.TB, s *Store, key string, mt time.Time) {
	t.Helper()
	if err := os.Chtimes(s.path(key), mt, mt); err != nil {
		t.Fatal(err)
	}
}

func pngBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(r.Uint32()), uint8(x * 4), uint8(y * 4), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randBytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

func htmlBytes(n int) []byte {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>Tiệm cầm đồ</title></head><body>\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<div class=\"row\" id=\"r%d\"><a href=\"/item/%d\">Item %d</a></div>\n", i, i, i)
	}
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want directory with 0700", fi.Mode())
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Error("Open of a regular file succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	s := openStore(t)
	cases := map[string][]byte{
		"html":   htmlBytes(50_000),
		"png":    pngBytes(t),
		"binary": randBytes(3, 70_000),
		"empty":  {},
		"nul":    bytes.Repeat([]byte{0}, 1000),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			key := mustPut(t, s, data)
			if key != Key(data) || !ValidKey(key) {
				t.Fatalf("key = %q, want %q", key, Key(data))
			}
			if !s.Has(key) {
				t.Error("Has = false after Put")
			}
			got, err := s.Get(key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes, differing from the %d stored", len(got), len(data))
			}
			// The file on disk is a plain gzip stream.
			raw, err := os.ReadFile(filepath.Join(s.Dir(), key[:2], key))
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			var plain bytes.Buffer
			if _, err := plain.ReadFrom(zr); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain.Bytes(), data) {
				t.Error("on-disk gzip content differs")
			}
			switch name {
			case "html":
				if len(raw)*4 > len(data) {
					t.Errorf("HTML compressed to %d of %d bytes; expected real compression", len(raw), len(data))
				}
			case "png":
				if !precompressed(data) {
					t.Error("PNG not recognised as precompressed")
				}
			}
		})
	}
	n, size, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(cases) || size <= 0 {
		t.Errorf("Stat = %d objects, %d bytes; want %d objects", n, size, len(cases))
	}
}

func TestDedupe(t *testing.T) {
	s := openStore(t)
	data := htmlBytes(10_000)
	key := mustPut(t, s, data)
	p := s.path(key)
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	setMtime(t, s, key, old)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}

	if k2 := mustPut(t, s, data); k2 != key {
		t.Fatalf("second Put key %q != %q", k2, key)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("object was rewritten instead of deduplicated")
	}
	if !after.ModTime().After(old.Add(47 * time.Hour)) {
		t.Errorf("mtime not bumped: %v (was %v)", after.ModTime(), old)
	}
	n, _, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Stat objects = %d, want 1", n)
	}
	ents, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("shard holds %d files, want 1", len(ents))
	}
}

func TestBadKeys(t *testing.T) {
	s := openStore(t)
	data := []byte("hello")
	key := mustPut(t, s, data)
	// Plant a file outside the store that traversal would reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(s.Dir()), "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		"",
		"../etc/passwd",
		"../secret",
		"/etc/passwd",
		strings.ToUpper(key),
		key[:63],
		key[:10],
		key + "0",
		key[:62] + "/.",
		"..%2f" + key[5:],
		key[:63] + "g",
		key[:63] + "\x00",
		"../" + key[3:],
		" " + key[1:],
	}
	for _, k := range bad {
		if ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
		if _, err := s.Get(k); !errors.Is(err, ErrBadKey) {
			t.Errorf("Get(%q) error = %v, want ErrBadKey", k, err)
		}
		if s.Has(k) {
			t.Errorf("Has(%q) = true", k)
		}
	}
	missing := Key([]byte("absent"))
	if _, err := s.Get(missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if s.Has(missing) {
		t.Error("Has(missing) = true")
	}
}

func TestCorruptDetected(t *testing.T) {
	s := openStore(t)
	data := htmlBytes(5000)
	key := mustPut(t, s, data)
	p := s.path(key)

	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 0xff
	tampered := bytes.Clone(data)
	tampered[100] = 'X'

	cases := map[string][]byte{
		"other content": gz(tampered),
		"garbage":       []byte("this is not gzip at all"),
		"truncated":     raw[:len(raw)/2],
		"bit flip":      flipped,
		"empty":         {},
	}
	for name, content := range cases {
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(key)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Get error = %v, want ErrCorrupt", name, err)
		}
		if got != nil {
			t.Errorf("%s: Get returned data with error", name)
		}
	}
}

func TestTempFilesCleanedAtOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	good := mustPut(t, s, []byte("complete object"))

	// Simulate a crash mid-write: a truncated gzip temp file for content
	// that was never renamed into place.
	data := htmlBytes(20_000)
	key := Key(data)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	shard := filepath.Join(dir, key[:2])
	if err := os.MkdirAll(shard, 0o700); err != nil {
		t.Fatal(err)
	}
	temps := []string{
		filepath.Join(shard, tmpPrefix+"123456"),
		filepath.Join(dir, good[:2], tmpPrefix+"abc"),
		filepath.Join(dir, tmpPrefix+"root"),
	}
	for _, tp := range temps {
		if err := os.WriteFile(tp, buf.Bytes()[:buf.Len()/3], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unrelated := filepath.Join(dir, "README")
	if err := os.WriteFile(unrelated, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Before reopening, the partial object is still not visible.
	if s.Has(key) {
		t.Error("partial object visible before Open")
	}

	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range temps {
		if _, err := os.Stat(tp); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("temp file %s survived Open (err=%v)", tp, err)
		}
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
	if _, err := s2.Get(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of never-completed object: %v, want ErrNotFound", err)
	}
	if got, err := s2.Get(good); err != nil || string(got) != "complete object" {
		t.Errorf("complete object lost: %q, %v", got, err)
	}
	n, _, err := s2.Stat()
	if err != nil || n != 1 {
		t.Errorf("Stat = %d, %v; want 1 object", n, err)
	}
	// The same content can still be stored afterwards.
	if k := mustPut(t, s2, data); k != key {
		t.Fatal("key mismatch")
	}
	if got, err := s2.Get(key); err != nil || !bytes.Equal(got, data) {
		t.Errorf("Get after re-Put: %v", err)
	}
}

func TestConcurrentPut(t *testing.T) {
	s := openStore(t)
	const distinct = 8
	contents := make([][]byte, distinct)
	for i := range contents {
		contents[i] = htmlBytes(1000 + 3000*i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32*20)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				data := contents[(g+i)%distinct]
				key, err := s.Put(data)
				if err != nil {
					errs <- err
					continue
				}
				got, err := s.Get(key)
				if err != nil {
					errs <- err
				} else if !bytes.Equal(got, data) {
					errs <- fmt.Errorf("goroutine %d: content mismatch for %s", g, key)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, _, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if n != distinct {
		t.Errorf("Stat objects = %d, want %d", n, distinct)
	}
	// No temporary files may remain.
	filepath.WalkDir(s.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			t.Errorf("leftover temp file %s", p)
		}
		return nil
	})
}

func TestPruneByAge(t *testing.T) {
	s := openStore(t)
	now := time.Now()
	oldKey := mustPut(t, s, []byte("old"))
	midKey := mustPut(t, s, []byte("mid"))
	newKey := mustPut(t, s, []byte("new"))
	setMtime(t, s, oldKey, now.Add(-72*time.Hour))
	setMtime(t, s, midKey, now.Add(-36*time.Hour))

	oldSize := fileSize(t, s, oldKey)
	removed, freed, err := s.Prune(nil, now.Add(-48*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 1 || freed != oldSize {
		t.Errorf("Prune = %d, %d; want 1, %d", removed, freed, oldSize)
	}
	if s.Has(oldKey) || !s.Has(midKey) || !s.Has(newKey) {
		t.Errorf("after prune: old=%v mid=%v new=%v; want false true true",
			s.Has(oldKey), s.Has(midKey), s.Has(newKey))
	}
	// Zero olderThan and no cap removes nothing.
	if removed, _, err := s.Prune(nil, time.Time{}, 0); err != nil || removed != 0 {
		t.Errorf("Prune(zero) = %d, %v", removed, err)
	}
	// A re-Put refreshes the mtime and protects the object from age pruning.
	mustPut(t, s, []byte("mid"))
	if removed, _, err := s.Prune(nil, now.Add(-time.Hour), 0); err != nil || removed != 0 || !s.Has(midKey) {
		t.Errorf("refreshed object pruned: removed=%d err=%v", removed, err)
	}
}

func fileSize(t testing.TB, s *Store, key string) int64 {
	t.Helper()
	fi, err := os.Stat(s.path(key))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestPruneBySizeOldestFirst(t *testing.T) {
	s := openStore(t)
	now := time.Now()
	keys := make([]string, 5)
	for i := range keys {
		b := randBytes(uint64(i), 4096) // incompressible
		keys[i] = mustPut(t, s, b)
		// keys[0] is the oldest.
		setMtime(t, s, keys[i], now.Add(-time.Duration(10-i)*time.Hour))
	}
	_, total, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sz := fileSize(t, s, keys[0])
	// Cap allowing roughly 2.5 objects: the three oldest must go.
	limit := total - 2*sz - sz/2
	removed, freed, err := s.Prune(nil, time.Time{}, limit)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 3 {
		t.Errorf("removed = %d, want 3", removed)
	}
	for i, k := range keys {
		want := i >= 3
		if s.Has(k) != want {
			t.Errorf("keys[%d] present = %v, want %v", i, s.Has(k), want)
		}
	}
	n, after, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || after > limit || after != total-freed {
		t.Errorf("after prune: %d objects, %d bytes (limit %d, total %d, freed %d)", n, after, limit, total, freed)
	}
}

func TestPruneKeepHonoured(t *testing.T) {
	s := openStore(t)
	now := time.Now()
	var keys []string
	for i := 0; i < 4; i++ {
		b := randBytes(uint64(100+i), 2048)
		k := mustPut(t, s, b)
		setMtime(t, s, k, now.Add(-time.Duration(100-i)*time.Hour))
		keys = append(keys, k)
	}
	kept := map[string]bool{keys[0]: true, keys[2]: true}
	calls := map[string]int{}
	keep := func(k string) bool { calls[k]++; return kept[k] }

	// Everything is older than olderThan and the cap (1 byte) cannot be
	// met; only unkept objects may go.
	removed, _, err := s.Prune(keep, now, 1)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 2 {
		t.Errorf("removed = %d, want 2", removed)
	}
	for _, k := range keys {
		if s.Has(k) != kept[k] {
			t.Errorf("%s present = %v, want %v", k[:8], s.Has(k), kept[k])
		}
		if calls[k] != 1 {
			t.Errorf("keep(%s) called %d times, want 1", k[:8], calls[k])
		}
	}
	for k := range kept {
		if _, err := s.Get(k); err != nil {
			t.Errorf("kept object unreadable: %v", err)
		}
	}
	// A size cap alone also never touches kept objects.
	removed, _, err = s.Prune(func(string) bool { return true }, time.Time{}, 1)
	if err != nil || removed != 0 {
		t.Errorf("Prune(keep all) = %d, %v", removed, err)
	}
}

func TestDecompressionBombRefused(t *testing.T) {
	s := openStore(t)
	// 24 MiB of zeros, above the 16 MiB default cap, compresses to ~24 KiB.
	const n = 24 << 20
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zeros := make([]byte, 1<<20)
	for i := 0; i < n/len(zeros); i++ {
		zw.Write(zeros)
	}
	zw.Close()
	if buf.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", buf.Len())
	}
	key := Key(make([]byte, n)) // a valid key, even the honest one
	if err := os.MkdirAll(filepath.Join(s.Dir(), key[:2]), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.path(key), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(key)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Get(bomb) error = %v, want ErrTooLarge", err)
	}
	if got != nil {
		t.Error("Get(bomb) returned data")
	}

	// Put refuses oversized content, and a smaller cap applies to Get.
	s.MaxObject = 1000
	if _, err := s.Put(make([]byte, 1001)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put(1001 bytes) error = %v, want ErrTooLarge", err)
	}
	s.MaxObject = 0 // default
	k := mustPut(t, s, make([]byte, 5000))
	s.MaxObject = 4999
	if _, err := s.Get(k); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Get above MaxObject error = %v, want ErrTooLarge", err)
	}
	s.MaxObject = 5000
	if _, err := s.Get(k); err != nil {
		t.Errorf("Get at exactly MaxObject: %v", err)
	}
}

func FuzzGet(f *testing.F) {
	s := openStore(f)
	present := mustPut(f, s, []byte("present"))
	for _, seed := range []string{present, "", "../etc/passwd", strings.ToUpper(present),
		present[:63], present + "a", "..", "/", present[:62] + "/x", Key(nil)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got, err := s.Get(key)
		switch {
		case !ValidKey(key):
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("Get(%q) = %v, want ErrBadKey", key, err)
			}
			if len(key) == KeyLen && strings.Trim(key, "0123456789abcdef") == "" {
				t.Fatalf("ValidKey(%q) = false for a lowercase hex key", key)
			}
		case key == present:
			if err != nil || string(got) != "present" {
				t.Fatalf("Get(present) = %q, %v", got, err)
			}
		default:
			if strings.ContainsAny(key, "/\\.") {
				t.Fatalf("ValidKey accepted %q", key)
			}
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(%q) = %v, want ErrNotFound", key, err)
			}
		}
		if err != nil && got != nil {
			t.Fatalf("Get(%q) returned data with error %v", key, err)
		}
		if s.Has(key) != (key == present) {
			t.Fatalf("Has(%q) = %v", key, s.Has(key))
		}
	})
}

func BenchmarkPut200KB(b *testing.B) {
	s := openStore(b)
	base := htmlBytes(200 << 10)[:200<<10]
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		data := bytes.Clone(base)
		// Distinct content each time so every iteration really writes.
		copy(data[len(data)-16:], fmt.Sprintf("%016d", i))
		i++
		if _, err := s.Put(data); err != nil {
			b.Fatal(err)
		}
	}
}
