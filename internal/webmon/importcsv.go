package webmon

import (
	"bytes"
	"context"
	"database/sql"
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

// MaxImportRows bounds one import file (a province has a few thousand sites).
const MaxImportRows = 20000

// ImportColumns are the columns of a monitor import file, in template order.
var ImportColumns = []string{"agency", "url", "name", "interval_seconds", "must_contain", "must_not_contain", "expected_status"}

var importAliases = map[string]string{
	"co quan": "agency", "don vi": "agency", "agency_id": "agency",
	"dia chi": "url", "website": "url", "trang web": "url", "ten": "name",
	"chu ky": "interval_seconds", "interval": "interval_seconds", "chu ky giay": "interval_seconds",
	"phai chua": "must_contain", "khong duoc chua": "must_not_contain", "ma trang thai": "expected_status", "status": "expected_status",
}

// ImportTemplate is a header line and an example row.
func ImportTemplate() string {
	return strings.Join(ImportColumns, ",") + "\nSở Y tế,https://syt.example.gov.vn/,Cổng thông tin Sở Y tế,300,Sở Y tế,nhà cái,200\n"
}

// ImportRow is one parsed line: a monitor, or why the line is unusable.
type ImportRow struct {
	Line    int
	Monitor Monitor
	Err     error
}

// ErrImportFile marks problems with the whole file rather than a row.
var ErrImportFile = errors.New("import file")

// ParseCSV reads monitors from CSV (UTF-8, optional BOM, ',' or ';').
// refs resolves the agency column (ID, code or name, diacritics folded)
// within the caller's scope.
func ParseCSV(r io.Reader, refs map[string]int64) ([]ImportRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: is empty", ErrImportFile)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read the header line: %v", ErrImportFile, err)
	}
	col := map[string]int{}
	for i, h := range header {
		f := textfold.Fold(strings.TrimSpace(h))
		name := ""
		for _, c := range ImportColumns {
			if f == c {
				name = c
			}
		}
		if name == "" {
			name = importAliases[strings.ReplaceAll(f, "_", " ")]
		}
		if name != "" {
			col[name] = i
		}
	}
	for _, need := range []string{"agency", "url"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%w: the header has no %q column (columns: %s)", ErrImportFile, need, strings.Join(ImportColumns, ", "))
		}
	}
	var rows []ImportRow
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if len(rows) >= MaxImportRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrImportFile, MaxImportRows)
		}
		if err != nil {
			rows = append(rows, ImportRow{Line: line, Err: model.Invalid("line", "is not valid CSV: %v", err)})
			continue
		}
		get := func(c string) string {
			if i, ok := col[c]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		row := ImportRow{Line: line, Monitor: Monitor{URL: get("url"), Name: get("name"), MustContain: strings.ReplaceAll(get("must_contain"), "|", "\n"),
			MustNotContain: strings.ReplaceAll(get("must_not_contain"), "|", "\n")}}
		id, ok := refs[textfold.Fold(get("agency"))]
		if !ok {
			row.Err = model.Invalid("agency", "%q is not an agency you manage", get("agency"))
		}
		row.Monitor.AgencyID = id
		for _, n := range []struct {
			col string
			dst *int
		}{{"interval_seconds", &row.Monitor.IntervalSeconds}, {"expected_status", &row.Monitor.ExpectedStatus}} {
			if v := get(n.col); v != "" && row.Err == nil {
				x, err := strconv.Atoi(v)
				if err != nil {
					row.Err = model.Invalid(n.col, "%q is not a number", v)
				}
				*n.dst = x
			}
		}
		if row.Err == nil {
			row.Err = row.Monitor.Validate()
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: has a header but no rows", ErrImportFile)
	}
	return rows, nil
}

// Import creates monitors in one transaction. Unless partial, one bad row
// means none is created; every bad row is reported with its line.
func (s *Service) Import(ctx context.Context, actor model.Actor, rows []ImportRow, partial bool) (storage.ImportResult, error) {
	res := storage.ImportResult{Errors: []storage.RowError{}}
	fail := func(line int, err error) {
		e := storage.RowError{Line: line, Message: err.Error()}
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			e.Field, e.Message = ve.Field, ve.Message
		} else if errors.Is(err, model.ErrConflict) {
			e.Field, e.Message = "url", "this agency already monitors this URL"
		}
		res.Errors = append(res.Errors, e)
	}
	for _, r := range rows {
		if r.Err != nil {
			fail(r.Line, r.Err)
		}
	}
	if len(res.Errors) > 0 && !partial {
		return res, nil
	}
	paths := map[int64]string{}
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		now := s.store.Now()
		for i, r := range rows {
			if r.Err != nil {
				continue
			}
			m := r.Monitor
			path, ok := paths[m.AgencyID]
			if !ok {
				p, err := s.store.AgencyPath(ctx, tx, actor.Scope, m.AgencyID)
				if err != nil {
					fail(r.Line, model.Invalid("agency", "is not an agency you manage"))
					continue
				}
				path, paths[m.AgencyID] = p, p
			}
			sp := fmt.Sprintf("m%d", i)
			if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
				return err
			}
			err := tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO monitors (agency_id, agency_path, name, url, interval_seconds,
				timeout_seconds, expected_status, must_contain, must_not_contain, page_budget, render_js, enabled, state, created_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'unknown', ?, ?, ?) RETURNING id`),
				m.AgencyID, path, m.Name, m.URL, m.IntervalSeconds, m.TimeoutSeconds, m.ExpectedStatus, m.MustContain, m.MustNotContain,
				m.PageBudget, m.RenderJS, true, actor.Username, now, now).Scan(&m.ID)
			if err != nil {
				if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
					return rerr
				}
				if !storage.IsUniqueViolation(err) {
					return err
				}
				fail(r.Line, model.ErrConflict)
			} else {
				res.Imported++
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return err
			}
		}
		if len(res.Errors) > 0 && !partial {
			res.Imported = 0
			return errRollback
		}
		return s.store.Audit(ctx, tx, actor, "import", "monitor", 0, nil, nil, map[string]any{"imported": res.Imported, "rejected": len(res.Errors)})
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err == nil && res.Imported > 0 {
		s.Reload()
	}
	return res, err
}

var errRollback = errors.New("rollback")
