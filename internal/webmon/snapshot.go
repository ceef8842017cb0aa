package webmon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/webmon/page"
	"canhgac/internal/webmon/render"
)

// Snapshot is evidence of what a page looked like when it was judged: the
// baseline it was learned from, or a fetch judged changed or defaced. The
// HTML and screenshot are objects in the evidence store.
type Snapshot struct {
	ID            int64         `json:"id"`
	MonitorID     int64         `json:"monitor_id"`
	TakenAt       time.Time     `json:"taken_at"`
	Kind          string        `json:"kind"` // baseline, page, subpage, not_found, cloak_googlebot, cloak_referer
	URL           string        `json:"url"`
	Verdict       string        `json:"verdict"`
	Score         float64       `json:"score"`
	Reasons       []page.Reason `json:"reasons"`
	HTMLKey       string        `json:"html_key"`
	ScreenshotKey string        `json:"screenshot_key,omitempty"`
}

// snapshot stores a page as evidence unless the monitor's last snapshot
// of this kind and URL had the same content and verdict, so a page that
// stays defaced for a week is one row, not ten thousand. With shot set
// and a renderer configured, a screenshot is taken too. It returns the
// snapshot's id (the existing one when nothing changed), 0 without an
// evidence store.
func (s *Service) snapshot(ctx context.Context, m Monitor, kind, at string, body []byte, r page.Result, shot bool) int64 {
	if s.cfg.Evidence == nil || len(body) == 0 {
		return 0
	}
	key, err := s.cfg.Evidence.Put(body)
	if err != nil {
		s.log.Error("evidence", "monitor", m.ID, "err", err)
		return 0
	}
	// The same judgement for the same reasons is the same evidence, even
	// if a counter on the page moved.
	dedup := fmt.Sprintf("%d|%s|%s", m.ID, kind, at)
	var sb strings.Builder
	sb.WriteString(string(r.Verdict))
	for _, x := range r.Reasons {
		sb.WriteString("|" + x.Signal + ":" + x.Detail)
	}
	sig := sb.String()
	s.mu.Lock()
	last, ok := s.lastSnap[dedup]
	s.mu.Unlock()
	if ok && last.sig == sig {
		return last.id
	}
	var png string
	if shot && s.cfg.Render != nil {
		rctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		res, err := s.cfg.Render.Render(rctx, render.Request{URL: at, UserAgent: BrowserUA, Screenshot: true})
		cancel()
		if err == nil && len(res.Screenshot) > 0 {
			png, _ = s.cfg.Evidence.Put(res.Screenshot)
		} else if err != nil {
			s.log.Warn("evidence screenshot", "monitor", m.ID, "err", err)
		}
	}
	reasons, _ := json.Marshal(nonNil(r.Reasons))
	var id int64
	err = s.store.DB().QueryRowContext(ctx, s.store.Rebind(`INSERT INTO monitor_snapshots (monitor_id, agency_path, taken_at, kind, url,
		verdict, score, reasons, html_key, screenshot_key) SELECT id, agency_path, ?, ?, ?, ?, ?, ?, ?, ? FROM monitors WHERE id = ? RETURNING id`),
		s.store.Now(), kind, truncate(at, 2000), string(r.Verdict), r.Score, string(reasons), key, png, m.ID).Scan(&id)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) { // the monitor was deleted meanwhile
			s.log.Error("record snapshot", "monitor", m.ID, "err", err)
		}
		return 0
	}
	s.mu.Lock()
	s.lastSnap[dedup] = snapRef{id: id, sig: sig}
	s.mu.Unlock()
	return id
}

type snapRef struct {
	id  int64
	sig string
}

func nonNil(r []page.Reason) []page.Reason {
	if r == nil {
		return []page.Reason{}
	}
	return r
}

const snapshotColumns = `id, monitor_id, taken_at, kind, url, verdict, score, reasons, html_key, screenshot_key`

func scanSnapshot(row interface{ Scan(...any) error }) (Snapshot, error) {
	var sn Snapshot
	var reasons string
	err := row.Scan(&sn.ID, &sn.MonitorID, &sn.TakenAt, &sn.Kind, &sn.URL, &sn.Verdict, &sn.Score, &reasons, &sn.HTMLKey, &sn.ScreenshotKey)
	if err == nil {
		_ = json.Unmarshal([]byte(reasons), &sn.Reasons)
	}
	return sn, err
}

// Snapshots lists a monitor's evidence, newest first, within the
// caller's scope.
func (s *Service) Snapshots(ctx context.Context, sc model.Scope, monitorID int64, limit int) ([]Snapshot, error) {
	if _, err := s.Get(ctx, sc, monitorID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT `+snapshotColumns+` FROM monitor_snapshots
		WHERE monitor_id = ? ORDER BY taken_at DESC, id DESC LIMIT ?`), monitorID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Snapshot{}
	for rows.Next() {
		sn, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	return out, rows.Err()
}

// GetSnapshot returns one snapshot of a monitor within the caller's scope.
func (s *Service) GetSnapshot(ctx context.Context, sc model.Scope, monitorID, id int64) (Snapshot, error) {
	if _, err := s.Get(ctx, sc, monitorID); err != nil {
		return Snapshot{}, err
	}
	sn, err := scanSnapshot(s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT `+snapshotColumns+` FROM monitor_snapshots
		WHERE id = ? AND monitor_id = ?`), id, monitorID))
	if errors.Is(err, sql.ErrNoRows) {
		return sn, fmt.Errorf("snapshot %d: %w", id, model.ErrNotFound)
	}
	return sn, err
}

// Evidence returns a stored object (HTML or PNG) of a snapshot.
func (s *Service) Evidence(key string) ([]byte, error) {
	if s.cfg.Evidence == nil || key == "" {
		return nil, fmt.Errorf("evidence: %w", model.ErrNotFound)
	}
	data, err := s.cfg.Evidence.Get(key)
	if err != nil {
		return nil, fmt.Errorf("evidence %s: %v: %w", key, err, model.ErrNotFound)
	}
	return data, nil
}

// SnapshotFile returns a snapshot's screenshot (image/png) or its captured
// HTML, typed text/plain: evidence of a defacement must never run in the
// operator's browser, whichever page serves it.
func (s *Service) SnapshotFile(ctx context.Context, sc model.Scope, monitorID, id int64, screenshot bool) (data []byte, contentType string, err error) {
	sn, err := s.GetSnapshot(ctx, sc, monitorID, id)
	if err != nil {
		return nil, "", err
	}
	key, contentType := sn.HTMLKey, "text/plain; charset=utf-8"
	if screenshot {
		key, contentType = sn.ScreenshotKey, "image/png"
	}
	data, err = s.Evidence(key)
	return data, contentType, err
}

// Diff is a snapshot compared with the baseline snapshot before it: what
// the current page has that the baseline did not.
type Diff struct {
	Baseline      *Snapshot            `json:"baseline"`
	Current       Snapshot             `json:"current"`
	TitleBefore   string               `json:"title_before"`
	TitleAfter    string               `json:"title_after"`
	AddedLinks    []page.Link          `json:"added_links"`
	RemovedHosts  []string             `json:"removed_hosts"`
	AddedHidden   []page.HiddenBlock   `json:"added_hidden"`
	AddedScripts  []page.ScriptFinding `json:"added_scripts"`
	BaselineLinks int                  `json:"baseline_links"`
	CurrentLinks  int                  `json:"current_links"`
	WordsBefore   int                  `json:"words_before"`
	WordsAfter    int                  `json:"words_after"`
}

// Diff compares a snapshot with the monitor's latest baseline snapshot
// taken before it (or none, when the baseline was never recorded).
func (s *Service) Diff(ctx context.Context, sc model.Scope, monitorID, id int64) (Diff, error) {
	cur, err := s.GetSnapshot(ctx, sc, monitorID, id)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Current: cur}
	curHTML, err := s.Evidence(cur.HTMLKey)
	if err != nil {
		return d, err
	}
	cf, err := page.Extract(curHTML, cur.URL)
	if err != nil {
		return d, err
	}
	base, err := scanSnapshot(s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT `+snapshotColumns+` FROM monitor_snapshots
		WHERE monitor_id = ? AND kind = 'baseline' AND id <= ? ORDER BY id DESC LIMIT 1`), monitorID, id))
	var bf *page.Features
	if err == nil && base.ID != cur.ID {
		if raw, err := s.Evidence(base.HTMLKey); err == nil {
			bf, _ = page.Extract(raw, base.URL)
			d.Baseline = &base
		}
	} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return d, err
	}
	d.TitleAfter, d.WordsAfter, d.CurrentLinks = cf.Title, cf.Words, len(cf.Links)
	links, hidden, scripts := map[string]bool{}, map[uint64]bool{}, map[uint64]bool{}
	hosts := map[string]bool{}
	if bf != nil {
		d.TitleBefore, d.WordsBefore, d.BaselineLinks = bf.Title, bf.Words, len(bf.Links)
		for _, l := range bf.Links {
			links[l.Tag+" "+l.URL] = true
			if l.Host != "" {
				hosts[l.Host] = true
			}
		}
		for _, h := range bf.Hidden {
			hidden[h.Key] = true
		}
		for _, sf := range bf.Scripts {
			scripts[sf.Key] = true
		}
	}
	curHosts := map[string]bool{}
	for _, l := range cf.Links {
		if l.Host != "" {
			curHosts[l.Host] = true
		}
		if !links[l.Tag+" "+l.URL] && (l.External || l.Hidden != "") {
			d.AddedLinks = append(d.AddedLinks, l)
			links[l.Tag+" "+l.URL] = true
		}
	}
	for h := range hosts {
		if !curHosts[h] {
			d.RemovedHosts = append(d.RemovedHosts, h)
		}
	}
	for _, h := range cf.Hidden {
		if !hidden[h.Key] {
			d.AddedHidden = append(d.AddedHidden, h)
		}
	}
	for _, sf := range cf.Scripts {
		if !scripts[sf.Key] {
			d.AddedScripts = append(d.AddedScripts, sf)
		}
	}
	return d, nil
}

// Prune drops snapshots older than the retention, except each monitor's
// latest baseline, then removes evidence objects no snapshot refers to.
func (s *Service) Prune(ctx context.Context) error {
	if s.cfg.Evidence == nil {
		return nil
	}
	cutoff := s.store.Now().Add(-s.cfg.Retention)
	if _, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`DELETE FROM monitor_snapshots WHERE taken_at < ?
		AND id NOT IN (SELECT MAX(id) FROM monitor_snapshots WHERE kind = 'baseline' GROUP BY monitor_id)`), cutoff); err != nil {
		return err
	}
	keep := map[string]bool{}
	rows, err := s.store.DB().QueryContext(ctx, `SELECT html_key, screenshot_key FROM monitor_snapshots`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var h, p string
		if err := rows.Scan(&h, &p); err != nil {
			rows.Close()
			return err
		}
		keep[h], keep[p] = true, true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	for k := range s.lastSnap {
		delete(s.lastSnap, k) // rows may be gone; let the next judgement record afresh
	}
	s.mu.Unlock()
	// Objects written in the last hour may belong to a snapshot being recorded.
	removed, freed, err := s.cfg.Evidence.Prune(func(k string) bool { return keep[k] }, time.Now().Add(-time.Hour), s.cfg.EvidenceMaxBytes)
	if removed > 0 {
		s.log.Info("evidence pruned", "objects", removed, "bytes", freed)
	}
	return err
}
