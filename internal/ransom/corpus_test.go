package ransom

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A generated corpus of office files, as an agency's file share holds them:
// documents, spreadsheets, PDFs, photos and scans, text, CSV exports,
// archives, in nested Vietnamese-named folders. Generated from a fixed
// seed, so every run sees the same files.

type corpusFile struct {
	rel  string
	data []byte
}

var (
	corpusOnce sync.Once
	corpus     []corpusFile
)

var corpusDirs = []string{
	"Phòng Kế toán/2024/Quý 1", "Phòng Kế toán/2024/Quý 2", "Phòng Kế toán/2025",
	"Văn thư/Công văn đến", "Văn thư/Công văn đi", "Văn thư/Lưu trữ/2023",
	"Tổ chức cán bộ/Hồ sơ nhân sự", "Tổ chức cán bộ/Lương", "Một cửa/Hồ sơ tiếp nhận",
	"Một cửa/Kết quả", "Ảnh/Hội nghị 2024", "Ảnh/Tết 2025", "Dự án/Chuyển đổi số",
	"Dự án/Hạ tầng mạng", "Dự án/Hạ tầng mạng/Bản vẽ", "Báo cáo/Tuần", "Báo cáo/Tháng",
	"Báo cáo/Năm", "Sao lưu/CSDL", "Tài liệu/Quy trình", "Tài liệu/Biểu mẫu", "Thư mục chung",
	"Thư mục chung/Họp giao ban", "Web/html", "Web/html/images",
}

var nameWords = []string{"Báo cáo", "Kế hoạch", "Tờ trình", "Quyết định", "Biên bản", "Danh sách",
	"Bảng kê", "Hợp đồng", "Thông báo", "Công văn", "Dự toán", "Tổng hợp", "Phụ lục", "Giấy mời",
	"Đề xuất", "Thuyết minh", "Hồ sơ", "Ảnh", "Scan", "Bản đồ"}

var textLines = []string{
	"Căn cứ Luật An toàn thông tin mạng năm 2015;",
	"Ủy ban nhân dân tỉnh giao Sở Thông tin và Truyền thông chủ trì, phối hợp với các đơn vị liên quan.",
	"Tổng số hồ sơ tiếp nhận trong tháng: %d, đã giải quyết đúng hạn: %d.",
	"Kinh phí thực hiện: %d.000.000 đồng từ nguồn ngân sách nhà nước.",
	"Các cơ quan, đơn vị báo cáo kết quả thực hiện trước ngày %d hằng tháng.",
	"Đồng chí Trần Thị Mai, chuyên viên Phòng Tổng hợp, số điện thoại 0912%d.",
	"Nội dung cuộc họp: rà soát hệ thống, cập nhật bản vá, sao lưu dữ liệu định kỳ.",
	"Ghi chú: số liệu tính đến hết ngày %d/12/2024.",
}

func vnText(r *rand.Rand, lines int) string {
	var b strings.Builder
	for range lines {
		l := textLines[r.IntN(len(textLines))]
		if strings.Contains(l, "%d") {
			args := make([]any, strings.Count(l, "%d"))
			for i := range args {
				args[i] = r.IntN(10000)
			}
			l = fmt.Sprintf(l, args...)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func photo(r *rand.Rand, w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy := r.IntN(w), r.IntN(h)
	for y := range h {
		for x := range w {
			d := (x-cx)*(x-cx) + (y-cy)*(y-cy)
			n := uint8(r.IntN(24))
			img.Set(x, y, color.RGBA{uint8(d/64) + n, uint8(x) + n, uint8(y) + n, 255})
		}
	}
	return img
}

func zipOf(r *rand.Rand, names ...string) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, n := range names {
		w, _ := z.Create(n)
		w.Write([]byte(vnText(r, 20+r.IntN(200))))
	}
	z.Close()
	return buf.Bytes()
}

func genFile(r *rand.Rand, ext string) []byte {
	switch ext {
	case ".docx":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
		for _, l := range strings.Split(vnText(r, 30+r.IntN(400)), "\n") {
			fmt.Fprintf(&b, "<w:p><w:r><w:t>%s</w:t></w:r></w:p>", l)
		}
		b.WriteString(`</w:body></w:document>`)
		data, _ := ooxml("word/document.xml", b.String(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
		return data
	case ".xlsx":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		for i := range 50 + r.IntN(800) {
			fmt.Fprintf(&b, `<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d</v></c></row>`, i+1, i+1, r.IntN(1e6), i+1, r.IntN(1e9))
		}
		b.WriteString(`</sheetData></worksheet>`)
		data, _ := ooxml("xl/worksheets/sheet1.xml", b.String(), "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml")
		return data
	case ".pdf":
		var b bytes.Buffer
		b.WriteString("%PDF-1.5\n")
		// A compressed content stream, as real PDFs carry.
		var z bytes.Buffer
		gw, _ := gzip.NewWriterLevel(&z, 6)
		gw.Write([]byte(vnText(r, 100+r.IntN(1500))))
		gw.Close()
		fmt.Fprintf(&b, "1 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", z.Len())
		b.Write(z.Bytes())
		b.WriteString("\nendstream\nendobj\n")
		b.WriteString(vnText(r, 5))
		fmt.Fprintf(&b, "trailer\n<< /Size 2 >>\nstartxref\n%d\n%%%%EOF\n", 9)
		return b.Bytes()
	case ".jpg":
		var buf bytes.Buffer
		jpeg.Encode(&buf, photo(r, 120+r.IntN(500), 90+r.IntN(380)), &jpeg.Options{Quality: 60 + r.IntN(35)})
		return buf.Bytes()
	case ".png":
		var buf bytes.Buffer
		png.Encode(&buf, photo(r, 60+r.IntN(200), 60+r.IntN(200)))
		return buf.Bytes()
	case ".txt", ".md":
		return []byte(vnText(r, 5+r.IntN(300)))
	case ".csv":
		var b strings.Builder
		b.WriteString("STT,Họ và tên,Đơn vị,Số tiền\n")
		for i := range 20 + r.IntN(2000) {
			fmt.Fprintf(&b, "%d,Nguyễn Văn %c,Phòng %d,%d\n", i+1, 'A'+rune(r.IntN(26)), r.IntN(9), r.IntN(1e8))
		}
		return []byte(b.String())
	case ".html":
		return []byte("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Cổng thông tin</title></head><body><p>" +
			strings.ReplaceAll(vnText(r, 10+r.IntN(200)), "\n", "</p><p>") + "</p></body></html>\n")
	case ".json":
		return []byte(fmt.Sprintf(`{"don_vi":"Sở TTTT","so_ho_so":%d,"ghi_chu":%q}`+"\n", r.IntN(1000), vnText(r, 3)))
	case ".zip":
		return zipOf(r, "a.txt", "b.txt", "c.csv")
	case ".tar.gz":
		var buf bytes.Buffer
		gw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gw)
		for i := range 3 {
			body := []byte(vnText(r, 50+r.IntN(300)))
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("tep-%d.txt", i), Mode: 0o644, Size: int64(len(body))})
			tw.Write(body)
		}
		tw.Close()
		gw.Close()
		return buf.Bytes()
	case ".sql":
		var b strings.Builder
		for i := range 100 + r.IntN(2000) {
			fmt.Fprintf(&b, "INSERT INTO ho_so VALUES (%d, 'Hồ sơ %d', '2024-%02d-%02d');\n", i, r.IntN(1e6), 1+r.IntN(12), 1+r.IntN(28))
		}
		return []byte(b.String())
	}
	panic("no generator for " + ext)
}

// corpusMix is the share of each type, roughly as in an office share.
var corpusMix = []struct {
	ext    string
	weight int
}{{".docx", 18}, {".xlsx", 14}, {".pdf", 14}, {".jpg", 16}, {".png", 4}, {".txt", 8}, {".csv", 6},
	{".md", 2}, {".html", 4}, {".json", 2}, {".zip", 5}, {".tar.gz", 3}, {".sql", 4}}

func buildCorpus(n int) []corpusFile {
	r := rand.New(rand.NewPCG(2026, 12))
	total := 0
	for _, m := range corpusMix {
		total += m.weight
	}
	out := make([]corpusFile, 0, n)
	used := map[string]bool{}
	for len(out) < n {
		k := r.IntN(total)
		ext := corpusMix[0].ext
		for _, m := range corpusMix {
			if k < m.weight {
				ext = m.ext
				break
			}
			k -= m.weight
		}
		dir := corpusDirs[r.IntN(len(corpusDirs))]
		name := fmt.Sprintf("%s %s %d%s", nameWords[r.IntN(len(nameWords))], strings.ToLower(nameWords[r.IntN(len(nameWords))]), r.IntN(3000), ext)
		rel := filepath.Join(dir, name)
		if used[rel] {
			continue
		}
		used[rel] = true
		out = append(out, corpusFile{rel, genFile(r, ext)})
	}
	return out
}

// writeCorpus writes the ~2,000-file corpus under dir and returns each
// file's SHA-256 by path.
func writeCorpus(t testing.TB, dir string) map[string][32]byte {
	t.Helper()
	corpusOnce.Do(func() { corpus = buildCorpus(2000) })
	sums := make(map[string][32]byte, len(corpus))
	for _, f := range corpus {
		p := filepath.Join(dir, f.rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		sums[p] = sha256.Sum256(f.data)
	}
	return sums
}

// lostFiles counts corpus files that are gone or no longer hold what was
// written: fully or partly encrypted, renamed away, or deleted.
func lostFiles(sums map[string][32]byte) int {
	lost := 0
	for p, want := range sums {
		b, err := os.ReadFile(p)
		if err != nil || sha256.Sum256(b) != want {
			lost++
		}
	}
	return lost
}
