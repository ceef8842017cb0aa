package ransom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"path/filepath"
	"strings"
)

// Kind is a file's content type as its bytes show it, not as its name claims.
type Kind uint8

// Content kinds canhgac recognises by magic bytes (or, for text, by the
// absence of binary bytes).
const (
	KindUnknown Kind = iota
	KindText
	KindZip // also docx, xlsx, pptx, odt, jar, epub
	KindPDF
	KindJPEG
	KindPNG
	KindGIF
	KindBMP
	KindTIFF
	KindRIFF // wav, avi, webp
	KindMP4
	KindMP3
	KindGzip
	KindBzip2
	KindXz
	KindZstd
	Kind7z
	KindRar
	KindOLE // doc, xls, ppt, msg
	KindRTF
	KindSQLite
	KindTar
	KindELF
	KindPE
	KindEmpty
)

var kindNames = [...]string{"unknown", "text", "zip", "pdf", "jpeg", "png", "gif", "bmp", "tiff",
	"riff", "mp4", "mp3", "gzip", "bzip2", "xz", "zstd", "7z", "rar", "ole", "rtf", "sqlite", "tar",
	"elf", "pe", "empty"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// compressed reports whether data of this kind is normally high-entropy, so
// that high entropy in it says nothing about encryption.
func (k Kind) compressed() bool {
	switch k {
	case KindZip, KindJPEG, KindPNG, KindGIF, KindMP4, KindMP3, KindGzip, KindBzip2, KindXz,
		KindZstd, Kind7z, KindRar, KindPDF, KindUnknown:
		return true
	}
	return false
}

// extKinds maps file extensions to the kind their content must have. Only
// extensions whose content is reliably recognisable are listed: a name not
// here says nothing about its content.
var extKinds = map[string]Kind{
	".docx": KindZip, ".xlsx": KindZip, ".pptx": KindZip, ".docm": KindZip, ".xlsm": KindZip,
	".odt": KindZip, ".ods": KindZip, ".odp": KindZip, ".zip": KindZip, ".jar": KindZip,
	".epub": KindZip, ".apk": KindZip, ".vsdx": KindZip,
	".pdf": KindPDF, ".jpg": KindJPEG, ".jpeg": KindJPEG, ".png": KindPNG, ".gif": KindGIF,
	".bmp": KindBMP, ".tif": KindTIFF, ".tiff": KindTIFF, ".wav": KindRIFF, ".avi": KindRIFF,
	".webp": KindRIFF, ".mp4": KindMP4, ".m4a": KindMP4, ".mov": KindMP4, ".mp3": KindMP3,
	".gz": KindGzip, ".tgz": KindGzip, ".bz2": KindBzip2, ".xz": KindXz, ".zst": KindZstd,
	".7z": Kind7z, ".rar": KindRar, ".doc": KindOLE, ".xls": KindOLE, ".ppt": KindOLE,
	".msg": KindOLE, ".rtf": KindRTF, ".sqlite": KindSQLite, ".sqlite3": KindSQLite,
	".tar": KindTar, ".exe": KindPE, ".dll": KindPE,
	".txt": KindText, ".csv": KindText, ".log": KindText, ".md": KindText, ".html": KindText,
	".htm": KindText, ".xml": KindText, ".json": KindText, ".sql": KindText, ".php": KindText,
	".js": KindText, ".css": KindText, ".ini": KindText, ".conf": KindText, ".cfg": KindText,
	".yaml": KindText, ".yml": KindText, ".go": KindText, ".py": KindText, ".c": KindText,
	".h": KindText, ".java": KindText, ".sh": KindText, ".svg": KindText, ".tex": KindText,
	".asp": KindText, ".aspx": KindText, ".jsp": KindText, ".bat": KindText, ".ps1": KindText,
}

// ExpectedKind is the kind a file named name must contain, or KindUnknown
// when its name does not say.
func ExpectedKind(name string) Kind {
	return extKinds[strings.ToLower(filepath.Ext(name))]
}

// sniff names the kind of content from its first bytes.
func sniff(h []byte) Kind {
	switch {
	case len(h) == 0:
		return KindEmpty
	case bytes.HasPrefix(h, []byte("PK\x03\x04")), bytes.HasPrefix(h, []byte("PK\x05\x06")):
		return KindZip
	case bytes.HasPrefix(h, []byte("%PDF-")):
		return KindPDF
	case bytes.HasPrefix(h, []byte{0xFF, 0xD8, 0xFF}):
		return KindJPEG
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		return KindPNG
	case bytes.HasPrefix(h, []byte("GIF87a")), bytes.HasPrefix(h, []byte("GIF89a")):
		return KindGIF
	case bytes.HasPrefix(h, []byte("BM")) && len(h) >= 14 && binary.LittleEndian.Uint32(h[10:]) < 1<<20:
		return KindBMP
	case bytes.HasPrefix(h, []byte("II*\x00")), bytes.HasPrefix(h, []byte("MM\x00*")):
		return KindTIFF
	case bytes.HasPrefix(h, []byte("RIFF")):
		return KindRIFF
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		return KindMP4
	case bytes.HasPrefix(h, []byte("ID3")), len(h) >= 2 && h[0] == 0xFF && h[1]&0xE0 == 0xE0:
		return KindMP3
	case bytes.HasPrefix(h, []byte{0x1F, 0x8B}):
		return KindGzip
	case bytes.HasPrefix(h, []byte("BZh")):
		return KindBzip2
	case bytes.HasPrefix(h, []byte{0xFD, '7', 'z', 'X', 'Z', 0}):
		return KindXz
	case bytes.HasPrefix(h, []byte{0x28, 0xB5, 0x2F, 0xFD}):
		return KindZstd
	case bytes.HasPrefix(h, []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C}):
		return Kind7z
	case bytes.HasPrefix(h, []byte("Rar!\x1a\x07")):
		return KindRar
	case bytes.HasPrefix(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return KindOLE
	case bytes.HasPrefix(h, []byte(`{\rtf`)):
		return KindRTF
	case bytes.HasPrefix(h, []byte("SQLite format 3\x00")):
		return KindSQLite
	case len(h) >= 262 && string(h[257:262]) == "ustar":
		return KindTar
	case bytes.HasPrefix(h, []byte("\x7fELF")):
		return KindELF
	case bytes.HasPrefix(h, []byte("MZ")):
		return KindPE
	case looksText(h):
		return KindText
	}
	return KindUnknown
}

// looksText reports whether b reads as text in any 8-bit or UTF-8 encoding
// Vietnamese files use (TCVN3 and VNI bytes are not valid UTF-8, so validity
// is not required): no NUL bytes, almost no control bytes, low entropy.
func looksText(b []byte) bool {
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return true // UTF-16 with a byte order mark
	}
	ctl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return false
		case c < 0x09, c > 0x0D && c < 0x20 && c != 0x1B:
			ctl++
		}
	}
	if ctl*100 > len(b) {
		return false
	}
	return len(b) < 256 || Entropy(b) < 6.5
}

// Entropy is the Shannon entropy of b in bits per byte (0–8).
func Entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// blockSize is the unit in which written content is judged: ransomware that
// encrypts only the first 4 KB, or every Nth block, changes whole blocks.
const blockSize = 4096

// highEntropy is the block entropy above which a block of at least 1 KB is
// taken to be encrypted or compressed (random data scores about 7.95 on
// 4 KB; text under 6).
const highEntropy = 7.2

// maxSampled bounds the blocks read from one file, so a huge file costs no
// more than 64 small reads.
const maxSampled = 64

// Digest is what canhgac remembers of a file's content between looks: its
// size, kind, and a CRC of each sampled block, so that a later rewrite can
// be judged by the blocks it changed.
type Digest struct {
	Size   int64
	Kind   Kind
	Valid  bool     // the content agreed with its name and format when seen
	Blocks []uint32 // CRC-32 of sampled blocks, at sampleOffsets(Size)
}

// sampleOffsets returns the block offsets read from a file of the given
// size: every block of a small file, evenly spaced ones (always the first
// and last) of a large one.
func sampleOffsets(size int64) []int64 {
	n := (size + blockSize - 1) / blockSize
	if n <= 0 {
		return nil
	}
	if n <= maxSampled {
		offs := make([]int64, n)
		for i := range offs {
			offs[i] = int64(i) * blockSize
		}
		return offs
	}
	offs := make([]int64, maxSampled)
	for i := range offs {
		offs[i] = (int64(i) * (n - 1) / (maxSampled - 1)) * blockSize
	}
	return offs
}

// Finding is the judgement of one file's current content.
type Finding struct {
	Kind     Kind    // sniffed from the content
	Expected Kind    // from the name (or the name before a rename)
	Size     int64   // bytes
	Entropy  float64 // the highest block entropy seen
	// Mismatch: the name promises a kind the content no longer has.
	Mismatch bool
	// HighBlocks counts sampled blocks of at least 1 KB above highEntropy.
	HighBlocks, Sampled int
	// Broken: the kind's own structure (zip directory, PDF trailer, JPEG
	// markers, PNG chunk CRCs) does not hold.
	Broken bool
	// Changed lists sampled blocks that differ from the previous Digest;
	// ChangedHigh those of them that are now high-entropy.
	Changed, ChangedHigh int
	Digest               Digest
}

// EncryptedLooking reports whether the content reads as ciphertext: not a
// recognised format and high-entropy throughout the sampled blocks.
func (f Finding) EncryptedLooking() bool {
	return f.Kind == KindUnknown && f.Sampled > 0 && f.HighBlocks*2 >= f.Sampled && f.Size >= 512
}

// Destroyed reports whether the content can no longer be what it was, with
// the reason in words; prev is what was known before the write (nil if
// nothing).
func (f Finding) Destroyed(prev *Digest) (bool, string) {
	want := f.Expected
	if prev != nil && prev.Valid && prev.Kind != KindUnknown && prev.Kind != KindEmpty {
		want = prev.Kind
	}
	if f.Kind == KindEmpty {
		return false, ""
	}
	switch {
	case want != KindUnknown && f.Kind != want && !(want == KindText && f.Kind == KindRTF):
		if f.Kind == KindUnknown {
			return true, "content type changed from " + want.String() + " to unrecognisable"
		}
		if f.Kind == KindText || !f.Kind.compressed() || f.HighBlocks == 0 {
			return false, "" // e.g. a .log replaced by another text: not ciphertext
		}
		return true, "content type changed from " + want.String() + " to " + f.Kind.String()
	case f.Broken && (prev == nil || prev.Valid):
		return true, f.Kind.String() + " structure broken"
	case want == KindText && f.HighBlocks > 0:
		return true, "high-entropy blocks written into a text file"
	case want == KindUnknown && prev != nil && prev.Kind == KindText && f.Kind == KindUnknown:
		return true, "text replaced by unrecognisable content"
	case prev != nil && f.Changed > 0 && f.ChangedHigh == f.Changed && f.Size == prev.Size &&
		f.Changed < f.Sampled && !prev.Kind.compressed() && prev.Kind != KindSQLite:
		// Some blocks of a same-size file rewritten with high-entropy bytes,
		// the rest untouched: intermittent encryption of an uncompressed file.
		return true, "some blocks rewritten with high-entropy data"
	case prev != nil && f.Changed > 0 && f.ChangedHigh == f.Changed && f.Size == prev.Size &&
		f.Changed < f.Sampled && prev.Valid && f.Broken:
		return true, "blocks rewritten and structure broken"
	}
	return false, ""
}

// errNotRegular is returned for paths that are not regular files.
var errNotRegular = errors.New("not a regular file")

// Inspect reads a file's content by sampled blocks and judges it against
// expected (the kind its name, or former name, promises) and prev (what
// was seen before, or nil).
func Inspect(path string, expected Kind, prev *Digest) (Finding, error) {
	return inspect(path, expected, prev, false)
}

// inspectNew is Inspect for a file just created: the first block only
// (a few more when it looks like ciphertext), no structure check. A new
// file destroys nothing; what matters is whether it is ciphertext or a
// note, and the first blocks say that.
func inspectNew(path string, expected Kind) (Finding, error) {
	return inspect(path, expected, nil, true)
}

func inspect(path string, expected Kind, prev *Digest, quick bool) (Finding, error) {
	f, err := openForInspect(path)
	if err != nil {
		return Finding{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Finding{}, err
	}
	if !st.Mode().IsRegular() {
		return Finding{}, errNotRegular
	}
	if quick {
		return inspectQuick(f, st.Size(), expected)
	}
	return inspectReader(f, st.Size(), expected, prev)
}

func inspectQuick(r io.ReaderAt, size int64, expected Kind) (Finding, error) {
	fd := Finding{Expected: expected, Size: size}
	offs := sampleOffsets(size)
	buf := make([]byte, blockSize)
	for i, off := range offs {
		n, err := r.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return fd, err
		}
		b := buf[:n]
		if i == 0 {
			fd.Kind = sniff(b)
		}
		fd.Sampled++
		e := Entropy(b)
		if n >= 1024 && e > highEntropy {
			fd.HighBlocks++
		}
		fd.Entropy = max(fd.Entropy, e)
		fd.Digest.Blocks = append(fd.Digest.Blocks, crc32.ChecksumIEEE(b))
		if fd.Kind != KindUnknown || i >= 7 || fd.HighBlocks == 0 {
			break
		}
	}
	if size == 0 {
		fd.Kind = KindEmpty
	}
	fd.Mismatch = expected != KindUnknown && fd.Kind != expected && fd.Kind != KindEmpty
	fd.Digest.Size, fd.Digest.Kind = size, fd.Kind
	fd.Digest.Valid = !fd.Mismatch && !(expected == KindText && fd.HighBlocks > 0)
	return fd, nil
}

func inspectReader(r io.ReaderAt, size int64, expected Kind, prev *Digest) (Finding, error) {
	fd := Finding{Expected: expected, Size: size}
	offs := sampleOffsets(size)
	buf := make([]byte, blockSize)
	crcs := make([]uint32, 0, len(offs))
	var head []byte
	for i, off := range offs {
		n, err := r.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return fd, err
		}
		b := buf[:n]
		if i == 0 {
			head = append([]byte(nil), b...)
		}
		crcs = append(crcs, crc32.ChecksumIEEE(b))
		fd.Sampled++
		e := Entropy(b)
		high := n >= 1024 && e > highEntropy
		if high {
			fd.HighBlocks++
		}
		if n >= 1024 && e > fd.Entropy {
			fd.Entropy = e
		}
		if prev != nil && prev.Size == size && i < len(prev.Blocks) && prev.Blocks[i] != crcs[i] {
			fd.Changed++
			if high {
				fd.ChangedHigh++
			}
		}
	}
	fd.Kind = sniff(head)
	if size == 0 {
		fd.Kind = KindEmpty
	}
	fd.Mismatch = expected != KindUnknown && fd.Kind != expected && fd.Kind != KindEmpty
	fd.Broken = !structureHolds(r, size, fd.Kind)
	fd.Digest = Digest{Size: size, Kind: fd.Kind, Blocks: crcs}
	fd.Digest.Valid = !fd.Mismatch && !fd.Broken && !(expected == KindText && fd.HighBlocks > 0)
	return fd, nil
}

// maxStructureRead bounds the bytes read to check a format's structure.
const maxStructureRead = 8 << 20

// structureHolds checks the parts of a format that partial encryption
// breaks and legitimate writers keep: a zip's end record and central
// directory, a PDF's trailer, a JPEG's marker chain and end, a PNG's chunk
// CRCs. Kinds without a check hold trivially.
func structureHolds(r io.ReaderAt, size int64, k Kind) bool {
	switch k {
	case KindZip:
		return zipHolds(r, size)
	case KindPDF:
		return pdfHolds(r, size)
	case KindJPEG:
		return jpegHolds(r, size)
	case KindPNG:
		return pngHolds(r, size)
	}
	return true
}

func readTail(r io.ReaderAt, size, n int64) []byte {
	if n > size {
		n = size
	}
	b := make([]byte, n)
	m, _ := r.ReadAt(b, size-n)
	return b[:m]
}

// zipHolds finds the end-of-central-directory record and checks that the
// directory it points to starts with a directory entry, and that the first
// entries point at local headers.
func zipHolds(r io.ReaderAt, size int64) bool {
	tail := readTail(r, size, 64<<10+22)
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < 22 {
		return false
	}
	eocd := tail[i:]
	entries := int(binary.LittleEndian.Uint16(eocd[10:]))
	cdSize := int64(binary.LittleEndian.Uint32(eocd[12:]))
	cdOff := int64(binary.LittleEndian.Uint32(eocd[16:]))
	if cdOff == 0xFFFFFFFF || entries == 0xFFFF {
		return true // zip64: not checked further
	}
	if cdOff+cdSize > size || cdSize > maxStructureRead {
		return false
	}
	cd := make([]byte, cdSize)
	if n, _ := r.ReadAt(cd, cdOff); int64(n) != cdSize {
		return false
	}
	p := 0
	for e := 0; e < entries && e < 32; e++ {
		if p+46 > len(cd) || string(cd[p:p+4]) != "PK\x01\x02" {
			return false
		}
		nameLen := int(binary.LittleEndian.Uint16(cd[p+28:]))
		extraLen := int(binary.LittleEndian.Uint16(cd[p+30:]))
		commentLen := int(binary.LittleEndian.Uint16(cd[p+32:]))
		local := int64(binary.LittleEndian.Uint32(cd[p+42:]))
		var sig [4]byte
		if local+4 > size {
			return false
		}
		if _, err := r.ReadAt(sig[:], local); err != nil || string(sig[:]) != "PK\x03\x04" {
			return false
		}
		p += 46 + nameLen + extraLen + commentLen
	}
	return true
}

// pdfHolds wants "%%EOF" near the end (writers may append a newline or a
// little padding).
func pdfHolds(r io.ReaderAt, size int64) bool {
	return bytes.Contains(readTail(r, size, 1024), []byte("%%EOF"))
}

// jpegHolds walks the marker segments up to the start of scan and wants
// the end-of-image marker near the end.
func jpegHolds(r io.ReaderAt, size int64) bool {
	if !bytes.Contains(readTail(r, size, 64), []byte{0xFF, 0xD9}) {
		return false
	}
	off := int64(2)
	var m [4]byte
	for steps := 0; steps < 64; steps++ {
		if off+4 > size {
			return false
		}
		if _, err := r.ReadAt(m[:], off); err != nil || m[0] != 0xFF {
			return false
		}
		switch marker := m[1]; {
		case marker == 0xDA: // start of scan: entropy-coded data follows
			return true
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			off += 2
		case marker == 0xFF:
			off++ // fill byte
		default:
			off += 2 + int64(binary.BigEndian.Uint16(m[2:]))
		}
	}
	return true
}

// pngHolds checks each chunk's length and CRC, up to maxStructureRead.
func pngHolds(r io.ReaderAt, size int64) bool {
	off := int64(8)
	var hdr [8]byte
	for off < size && off < maxStructureRead {
		if off+12 > size {
			return false
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return false
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if n > size-off-12 {
			return false
		}
		if n > maxStructureRead {
			return true // a chunk too big to check: judged by the rest
		}
		body := make([]byte, 4+n+4)
		if _, err := r.ReadAt(body, off+4); err != nil && err != io.EOF {
			return false
		}
		if crc32.ChecksumIEEE(body[:4+n]) != binary.BigEndian.Uint32(body[4+n:]) {
			return false
		}
		if string(hdr[4:8]) == "IEND" {
			return true
		}
		off += 12 + n
	}
	return off >= maxStructureRead
}
