package assetcsv

import (
	"errors"
	"strings"
	"testing"

	"canhgac/internal/model"
)

var refs = map[string]int64{"1": 1, "so y te": 1, "syt": 1, "2": 2, "so tai chinh": 2}

func TestParseValidFileWithExcelQuirks(t *testing.T) {
	in := "\xef\xbb\xbfĐơn vị;Loại;Tên;Địa chỉ;Cấp độ;Nhãn\n" +
		"Sở Y Tế;website;Cổng TTĐT;https://syt.gov.vn;3;tết|cong-khai\n" +
		";;;;;\n" +
		"2;server;db01;10.0.0.5;;\n"
	rows, err := Parse(strings.NewReader(in), refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (blank line skipped)", len(rows))
	}
	a := rows[0].Asset
	if rows[0].Err != nil || a.AgencyID != 1 || a.Kind != model.AssetWebsite || a.SecurityLevel != 3 || len(a.Tags) != 2 {
		t.Fatalf("row 0: %+v %v", a, rows[0].Err)
	}
	if rows[1].Line != 4 || rows[1].Asset.AgencyID != 2 || rows[1].Asset.SecurityLevel != 1 {
		t.Fatalf("row 1: line %d %+v", rows[1].Line, rows[1].Asset)
	}
}

func TestParseReportsEveryBadRowWithLineAndReason(t *testing.T) {
	in := "agency,kind,name,address,security_level\n" +
		"1,website,ok,https://a.gov.vn,2\n" +
		"9,website,unknown agency,https://b.gov.vn,2\n" +
		"1,toaster,bad kind,,2\n" +
		"1,server,bad level,10.0.0.1,nine\n" +
		"1,website,bad url,ftp://x,1\n" +
		"1,server,short row\n"
	rows, err := Parse(strings.NewReader(in), refs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "agency", 4: "kind", 5: "security_level", 6: "address", 7: "row"}
	for _, r := range rows {
		field, bad := want[r.Line]
		var ve *model.ValidationError
		if !bad {
			if r.Err != nil {
				t.Errorf("line %d: unexpected error %v", r.Line, r.Err)
			}
			continue
		}
		if !errors.As(r.Err, &ve) || ve.Field != field {
			t.Errorf("line %d: got %v, want an error on %s", r.Line, r.Err, field)
		}
	}
}

func TestParseRefusesUnreadableFiles(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"unknown column": "agency,kind,name,colour\n1,website,x,red\n",
		"missing name":   "agency,kind\n1,website\n",
		"header only":    "agency,kind,name\n",
		"broken quote":   "agency,kind,name\n1,website,\"unterminated\n",
	} {
		if _, err := Parse(strings.NewReader(in), refs); !errors.Is(err, ErrFile) {
			t.Errorf("%s: got %v, want ErrFile", name, err)
		}
	}
}

func TestTemplateParses(t *testing.T) {
	rows, err := Parse(strings.NewReader(Template()), refs)
	if err != nil || len(rows) != 1 || rows[0].Err != nil {
		t.Fatalf("template: %v %+v", err, rows)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Template())
	f.Add("agency;kind;name\n1;server;x\n")
	f.Add("\xef\xbb\xbfagency,kind,name\n\"1\",\"web\"\"site\",x\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := Parse(strings.NewReader(in), refs)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Line < 2 {
				t.Fatalf("row on line %d", r.Line)
			}
			if r.Err == nil {
				if err := r.Asset.Validate(); err != nil {
					t.Fatalf("row accepted but invalid: %v", err)
				}
			}
		}
	})
}
