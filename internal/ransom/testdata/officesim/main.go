// Command officesim saves office documents the way office suites do, for
// canhgac's false-alarm tests: it opens each .docx/.xlsx named on the
// command line (the documents a user edits), changes its main part, and
// writes it back, either to a temporary file renamed over the original
// (Word, LibreOffice) or in place.
package main

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	rounds := flag.Int("rewrite-rounds", 0, "instead of saving documents, rewrite every file named with its own content this many times (an event flood)")
	flag.Parse()
	if *rounds > 0 {
		flood(flag.Args(), *rounds)
		return
	}
	n := 0
	for _, p := range flag.Args() {
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".docx" && ext != ".xlsx" {
			continue
		}
		if err := save(p, n%2 == 0); err != nil {
			fmt.Fprintln(os.Stderr, "officesim:", p, err)
			os.Exit(1)
		}
		n++
	}
	fmt.Println(n, "saved")
}

func save(p string, viaTemp bool) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			return err
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		if strings.HasSuffix(f.Name, "document.xml") || strings.HasSuffix(f.Name, "sheet1.xml") {
			body = bytes.Replace(body, []byte("</w:body>"), []byte("<w:p><w:r><w:t>Đã sửa.</w:t></w:r></w:p></w:body>"), 1)
			body = bytes.Replace(body, []byte("</sheetData>"), []byte(`<row r="9999"><c r="A9999"><v>1</v></c></row></sheetData>`), 1)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			return err
		}
		w.Write(body)
	}
	zr.Close()
	if err := zw.Close(); err != nil {
		return err
	}
	if viaTemp {
		tmp := filepath.Join(filepath.Dir(p), "~WRL"+fmt.Sprint(os.Getpid()%10000)+".tmp")
		if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, p)
	}
	return os.WriteFile(p, buf.Bytes(), 0o644)
}

// flood rewrites each file with its own content, round after round: a
// program that saves the same files again and again (a sync tool, a build
// touching its outputs) producing a flood of write events.
func flood(paths []string, rounds int) {
	data := make([][]byte, len(paths))
	for i, p := range paths {
		data[i], _ = os.ReadFile(p)
	}
	writes := 0
	for range rounds {
		for i, p := range paths {
			if os.WriteFile(p, data[i], 0o644) == nil {
				writes++
			}
		}
	}
	fmt.Println(writes, "writes")
}
