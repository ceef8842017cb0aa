package ransom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func encrypt(b []byte) []byte {
	block, _ := aes.NewCipher(bytes.Repeat([]byte{7}, 32))
	out := make([]byte, len(b))
	cipher.NewCTR(block, make([]byte, 16)).XORKeyStream(out, b)
	return out
}

func inspectBytes(t *testing.T, b []byte, expected Kind, prev *Digest) Finding {
	t.Helper()
	f, err := inspectReader(bytes.NewReader(b), int64(len(b)), expected, prev)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Each generated document is recognised, valid, and judged destroyed once
// encrypted whole, in its first 4 KB, or every 16th block.
func TestContentJudgement(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ext := range []string{".docx", ".xlsx", ".pdf", ".jpg", ".png", ".txt", ".csv", ".html", ".zip", ".sql"} {
		data := genFile(r, ext)
		for len(data) < 80<<10 && (ext == ".txt" || ext == ".csv" || ext == ".sql") {
			data = append(data, genFile(r, ext)...)
		}
		want := ExpectedKind("x" + ext)
		fresh := inspectBytes(t, data, want, nil)
		if fresh.Kind != want || fresh.Broken || fresh.Mismatch || !fresh.Digest.Valid {
			t.Errorf("%s: fresh file judged %+v", ext, fresh)
			continue
		}
		if bad, why := fresh.Destroyed(nil); bad {
			t.Errorf("%s: an intact file judged destroyed: %s", ext, why)
		}
		prev := fresh.Digest
		variants := map[string][]byte{"whole": encrypt(data)}
		head := bytes.Clone(data)
		copy(head, encrypt(data[:min(4096, len(data))]))
		variants["first 4 KB"] = head
		every := bytes.Clone(data)
		for off := 0; off < len(every); off += 16 * 4096 {
			end := min(off+4096, len(every))
			copy(every[off:end], encrypt(every[off:end]))
		}
		variants["every 16th block"] = every
		for name, enc := range variants {
			if len(data) < 4096 && name != "whole" {
				continue
			}
			f := inspectBytes(t, enc, want, &prev)
			if bad, why := f.Destroyed(&prev); !bad {
				t.Errorf("%s encrypted (%s) not judged destroyed: %+v", ext, name, f)
			} else if why == "" {
				t.Errorf("%s: destroyed without a reason", ext)
			}
		}
	}
}

// Encryption that spares the header is still seen: in text by the
// entropy of the written blocks, in a same-size uncompressed file by the
// blocks that changed.
func TestPartialEncryptionSparingTheHeader(t *testing.T) {
	text := bytes.Repeat([]byte("Báo cáo tuần: không có sự cố an toàn thông tin.\n"), 3000)
	mid := bytes.Clone(text)
	copy(mid[8192:12288], encrypt(mid[8192:12288]))
	f := inspectBytes(t, mid, KindText, nil)
	if bad, why := f.Destroyed(nil); !bad {
		t.Errorf("text with one encrypted block in the middle not destroyed: %+v", f)
	} else {
		t.Log(why)
	}
	// A BMP (uncompressed) whose middle blocks are encrypted, header kept.
	bmp := make([]byte, 200<<10)
	copy(bmp, []byte("BM"))
	bmp[10] = 54
	for i := 54; i < len(bmp); i++ {
		bmp[i] = byte(i / 300)
	}
	prev := inspectBytes(t, bmp, KindBMP, nil).Digest
	enc := bytes.Clone(bmp)
	copy(enc[16*4096:17*4096], encrypt(enc[16*4096:17*4096]))
	f = inspectBytes(t, enc, KindBMP, &prev)
	if bad, _ := f.Destroyed(&prev); !bad || f.Changed != 1 || f.ChangedHigh != 1 {
		t.Errorf("bmp with one encrypted block: %+v", f)
	}
}

// Compressing a file, or rewriting a document properly, is not destruction.
func TestLegitimateRewritesAreNotDestruction(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	doc := genFile(r, ".docx")
	prev := inspectBytes(t, doc, KindZip, nil).Digest
	other := genFile(r, ".docx")
	if f := inspectBytes(t, other, KindZip, &prev); func() bool { b, _ := f.Destroyed(&prev); return b }() {
		t.Errorf("a docx saved with new content judged destroyed: %+v", f)
	}
	log := bytes.Repeat([]byte("GET /index.php 200\n"), 5000)
	prevLog := inspectBytes(t, log, KindText, nil).Digest
	if f := inspectBytes(t, []byte{}, KindText, &prevLog); func() bool { b, _ := f.Destroyed(&prevLog); return b }() {
		t.Errorf("a truncated log judged destroyed")
	}
	if f := inspectBytes(t, bytes.Repeat([]byte("new line\n"), 100), KindText, &prevLog); func() bool { b, _ := f.Destroyed(&prevLog); return b }() {
		t.Errorf("a rewritten log judged destroyed")
	}
	// A file with no known type replaced by random bytes: nothing to say.
	unknown := encrypt(bytes.Repeat([]byte{1, 2, 3}, 10000))
	prevU := inspectBytes(t, unknown, KindUnknown, nil).Digest
	if f := inspectBytes(t, encrypt(unknown), KindUnknown, &prevU); func() bool { b, _ := f.Destroyed(&prevU); return b }() {
		t.Errorf("random bytes replacing random bytes judged destroyed")
	}
}

func TestSniffAndExpectedKind(t *testing.T) {
	cases := map[string]Kind{"Báo cáo.DOCX": KindZip, "a.tar.gz": KindGzip, "ảnh.JPG": KindJPEG, "x.unknownext": KindUnknown, "Makefile": KindUnknown}
	for name, want := range cases {
		if got := ExpectedKind(name); got != want {
			t.Errorf("ExpectedKind(%q) = %v, want %v", name, got, want)
		}
	}
	// TCVN3-encoded Vietnamese (not UTF-8) is still text.
	tcvn := bytes.Repeat([]byte("B\xb8o c\xb8o t\xd5nh h\xdcnh\r\n"), 300)
	if k := sniff(tcvn[:4096]); k != KindText {
		t.Errorf("TCVN3 text sniffed as %v", k)
	}
	if k := sniff(encrypt(tcvn)[:4096]); k != KindUnknown {
		t.Errorf("ciphertext sniffed as %v", k)
	}
}

func TestInspectSkipsWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Inspect(dir, KindUnknown, nil); err == nil {
		t.Error("a directory was inspected")
	}
	if _, err := Inspect(filepath.Join(dir, "missing.txt"), KindText, nil); err == nil {
		t.Error("a missing file was inspected")
	}
	link := filepath.Join(dir, "link.txt")
	os.WriteFile(filepath.Join(dir, "real.txt"), []byte("x"), 0o644)
	if err := os.Symlink(filepath.Join(dir, "real.txt"), link); err == nil {
		if _, err := Inspect(link, KindText, nil); err == nil {
			t.Error("a symlink was followed")
		}
	}
}

// FuzzInspect feeds arbitrary content, as an attacker controls it, through
// the format checks: no panic, no unbounded read, and a digest consistent
// with the sampled blocks.
func FuzzInspect(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, ext := range []string{".docx", ".pdf", ".jpg", ".png", ".txt"} {
		f.Add(genFile(r, ext)[:min(2000, len(genFile(r, ext)))])
	}
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\xff\xff\xff\xffIHDR"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range []Kind{KindUnknown, KindZip, KindPDF, KindJPEG, KindPNG, KindText} {
			fd, err := inspectReader(bytes.NewReader(b), int64(len(b)), k, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(fd.Digest.Blocks) != len(sampleOffsets(int64(len(b)))) {
				t.Fatalf("digest of %d blocks for %d bytes", len(fd.Digest.Blocks), len(b))
			}
			again, _ := inspectReader(bytes.NewReader(b), int64(len(b)), k, &fd.Digest)
			if again.Changed != 0 {
				t.Fatalf("unchanged content reported %d changed blocks", again.Changed)
			}
			fd.Destroyed(&fd.Digest)
		}
	})
}
