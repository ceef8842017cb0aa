package ransom

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// Decoy documents. Ransomware walks folders in name order (or the
// filesystem's order, which for a fresh folder is often creation order) and
// encrypts what it finds; decoys named to sort first and last in a folder
// are among the first files it reaches, and no one has a reason to touch
// them. Each is a valid document, so a tool that checks headers before
// encrypting takes it for a real one.

// firstNames sort before ordinary names ('!' is below digits and letters);
// lastNames after them (Vietnamese capitals with diacritics are above
// every ASCII byte, in UTF-8 and UTF-16 order alike).
var firstNames = []string{
	"!Danh sách tài khoản",
	"!Quan trọng - Hợp đồng",
	"!Bảng lương tháng",
	"!Báo cáo tài chính",
}

var lastNames = []string{
	"Ủy quyền ký số",
	"Ước tính ngân sách",
	"Ứng dụng - mật khẩu",
	"Ủy ban - công văn đến",
}

var canaryExts = []string{".docx", ".xlsx", ".pdf", ".jpg"}

func pick[T any](list []T) T {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	return list[n.Int64()]
}

// canaryNames returns the two decoy names for a folder, avoiding existing
// names.
func canaryNames(dir string) []string {
	var out []string
	for _, base := range [][]string{firstNames, lastNames} {
		for range 8 {
			name := pick(base) + " 2025" + pick(canaryExts)
			if _, err := os.Lstat(filepath.Join(dir, name)); os.IsNotExist(err) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// canaryContent returns a valid document of the kind its name says, with
// plausible Vietnamese office text and random figures, so that every decoy
// differs.
func canaryContent(name string) ([]byte, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".docx":
		return ooxml("word/document.xml", wordDoc(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
	case ".xlsx":
		return ooxml("xl/workbook.xml", workbook(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
	case ".pdf":
		return pdfDoc(), nil
	case ".jpg":
		return jpegImage()
	}
	return nil, fmt.Errorf("no decoy format for %s", name)
}

func randDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + v.Int64())
	}
	return string(b)
}

var officeLines = []string{
	"Căn cứ Quyết định số %s/QĐ-UBND về việc phê duyệt kế hoạch năm 2025.",
	"Tổng kinh phí dự kiến: %s.000.000 đồng.",
	"Tài khoản: %s tại Ngân hàng TMCP Công Thương Việt Nam.",
	"Người phụ trách: đồng chí Nguyễn Văn %s, điện thoại 09%s.",
	"Đề nghị các phòng, ban rà soát và gửi báo cáo trước ngày %s.",
}

func officeText() []string {
	lines := make([]string, 0, len(officeLines))
	for _, l := range officeLines {
		arg := randDigits(4)
		if strings.Contains(l, "Nguyễn Văn") {
			l = strings.Replace(l, "%s", pick([]string{"An", "Bình", "Cường", "Dũng", "Hải"}), 1)
			arg = randDigits(8)
		}
		lines = append(lines, fmt.Sprintf(l, arg))
	}
	return lines
}

func wordDoc() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, l := range officeText() {
		fmt.Fprintf(&b, "<w:p><w:r><w:t>%s</w:t></w:r></w:p>", l)
	}
	b.WriteString(`</w:body></w:document>`)
	return b.String()
}

func workbook() string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<sheets><sheet name="Bảng 1" sheetId="1" r:id="rId1"/></sheets></workbook>`
}

// ooxml builds a minimal Office Open XML package around one main part.
func ooxml(mainPart, body, contentType string) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/` + mainPart + `" ContentType="` + contentType + `"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="` + mainPart + `"/></Relationships>`},
		{mainPart, body},
		{"docProps/core.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
			`xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Văn thư</dc:creator></cp:coreProperties>`},
	}
	for _, p := range parts {
		w, err := z.Create(p.name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pdfDoc writes a one-page PDF with a correct cross-reference table.
func pdfDoc() []byte {
	text := "BAO CAO TONG HOP - So " + randDigits(6)
	stream := fmt.Sprintf("BT /F1 14 Tf 72 760 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// jpegImage encodes a small photo-like picture (a gradient with noise).
func jpegImage() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	noise := make([]byte, 160*120)
	_, _ = rand.Read(noise)
	for y := range 120 {
		for x := range 160 {
			n := noise[y*160+x] / 8
			img.Set(x, y, color.RGBA{uint8(x + int(n)), uint8(y*2 + int(n)), uint8(120 + int(n)), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// canary is one placed decoy.
type canary struct {
	Path string
	Sum  [32]byte
}

// placeCanary writes one decoy (new file, never overwriting) and marks it
// hidden where the platform has such a mark.
func placeCanary(path string) (canary, error) {
	data, err := canaryContent(path)
	if err != nil {
		return canary{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return canary{}, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return canary{}, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return canary{}, err
	}
	hideFile(path)
	return canary{Path: path, Sum: sha256.Sum256(data)}, nil
}

// intact reports whether a decoy still holds what was written.
func (c canary) intact() bool {
	b, err := os.ReadFile(c.Path)
	return err == nil && sha256.Sum256(b) == c.Sum
}
