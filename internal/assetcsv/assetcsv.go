// Package assetcsv reads asset inventories from CSV files, the way agencies
// hand them over (often exported from Excel: a UTF-8 BOM, ';' separators,
// Vietnamese column names), into rows the store imports. Each bad row is
// reported with its line number and reason.
package assetcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/textfold"
)

// MaxRows bounds one import file.
const MaxRows = 20000

// Columns are the canonical column names, in the order of the template file.
var Columns = []string{"agency", "kind", "name", "address", "security_level", "tags",
	"contact_name", "contact_email", "contact_phone", "description"}

// aliases maps folded header spellings to canonical column names.
var aliases = map[string]string{
	"don vi": "agency", "co quan": "agency", "agency_id": "agency",
	"loai": "kind", "ten": "name", "ten he thong": "name",
	"dia chi": "address", "url": "address", "ip": "address",
	"cap do": "security_level", "level": "security_level",
	"nhan": "tags", "the": "tags",
	"nguoi lien he": "contact_name", "email": "contact_email", "dien thoai": "contact_phone", "so dien thoai": "contact_phone",
	"mo ta": "description", "ghi chu": "description",
}

// Template is a header line plus one example row, offered for download.
func Template() string {
	return strings.Join(Columns, ",") + "\n" +
		`Sở Y tế,website,Cổng thông tin Sở Y tế,https://syt.example.gov.vn,2,cong-khai;tet,Nguyễn Văn A,a@example.gov.vn,0912345678,` + "\n"
}

// ErrFile is wrapped by errors that make the whole file unreadable (as
// opposed to one bad row).
var ErrFile = errors.New("import file")

// Parse reads CSV from r. refs resolves the agency column (an ID, a code or a
// name, diacritics folded) to agency IDs within the caller's scope.
func Parse(r io.Reader, refs map[string]int64) ([]storage.ImportRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: is empty", ErrFile)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = sniffComma(data)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: line 1: %v", ErrFile, err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := canonical(h)
		if name == "" {
			return nil, fmt.Errorf("%w: line 1: unknown column %q (known: %s)", ErrFile, strings.TrimSpace(h), strings.Join(Columns, ", "))
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("%w: line 1: column %q appears twice", ErrFile, name)
		}
		col[name] = i
	}
	for _, req := range []string{"agency", "kind", "name"} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("%w: line 1: required column %q is missing", ErrFile, req)
		}
	}
	var rows []storage.ImportRow
	for {
		line, _ := cr.FieldPos(0)
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if len(rows) >= MaxRows {
			return nil, fmt.Errorf("%w: more than %d rows; split the file", ErrFile, MaxRows)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// A broken quote ruins the rest of the file's framing.
			return nil, fmt.Errorf("%w: line %d: %v", ErrFile, pe.StartLine, pe.Err)
		}
		if err != nil {
			return nil, err
		}
		line, _ = cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		rows = append(rows, parseRow(line, rec, col, len(header), refs))
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: has a header but no rows", ErrFile)
	}
	return rows, nil
}

func parseRow(line int, rec []string, col map[string]int, width int, refs map[string]int64) storage.ImportRow {
	row := storage.ImportRow{Line: line}
	if len(rec) != width {
		row.Err = model.Invalid("row", "has %d fields, the header has %d", len(rec), width)
		return row
	}
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	a := &row.Asset
	ref := get("agency")
	id, ok := refs[textfold.Fold(ref)]
	if !ok {
		row.Err = model.Invalid("agency", "no agency %q (give its ID, code or name)", ref)
		return row
	}
	a.AgencyID = id
	a.Kind = model.AssetKind(strings.ToLower(get("kind")))
	a.Name = get("name")
	a.Address = get("address")
	if lv := get("security_level"); lv != "" {
		n, err := strconv.Atoi(lv)
		if err != nil {
			row.Err = model.Invalid("security_level", "%q is not a number 1-5", lv)
			return row
		}
		a.SecurityLevel = n
	}
	if t := get("tags"); t != "" {
		a.Tags = strings.FieldsFunc(t, func(r rune) bool { return r == ';' || r == '|' || r == ',' })
	}
	a.ContactName, a.ContactEmail, a.ContactPhone, a.Description = get("contact_name"), get("contact_email"), get("contact_phone"), get("description")
	if err := a.Validate(); err != nil {
		row.Err = err
	}
	return row
}

func canonical(h string) string {
	f := textfold.Fold(strings.TrimSpace(h))
	for _, c := range Columns {
		if f == c {
			return c
		}
	}
	if c, ok := aliases[strings.ReplaceAll(f, "_", " ")]; ok {
		return c
	}
	return aliases[f]
}

// sniffComma picks ';' when the header line has more of them than commas
// (Excel in a Vietnamese locale writes ';').
func sniffComma(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		return ';'
	}
	return ','
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
