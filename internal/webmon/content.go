package webmon

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/webmon/page"
)

// LearnFetches is how many fetches a baseline is learned from: regions
// that differ between them (dates, counters, news lists, tokens) are
// dynamic and do not count as changes later.
const LearnFetches = 3

// content judges a fetched page for defacement. Until a monitor has a
// baseline it collects fetches to learn one, judging each page alone
// meanwhile (a page already defaced must not become the baseline). With
// a baseline it diffs. website_defaced is raised as critical with the
// analysis's reasons, website_changed as info; a page that no longer
// looks defaced resolves website_defaced, and a clean one both.
func (s *Service) content(ctx context.Context, m Monitor, body []byte) {
	f, err := page.Extract(body, m.URL)
	if err != nil {
		return
	}
	base, err := s.baseline(ctx, m.ID)
	if err != nil {
		s.log.Error("load baseline", "monitor", m.ID, "err", err)
		return
	}
	var r page.Result
	if base == nil {
		r = page.Analyze(f, nil, page.Options{})
		if r.Verdict != page.Defaced {
			s.learn(ctx, m.ID, f)
		}
	} else {
		r = page.Analyze(f, base, page.Options{})
	}
	defaced, changed := fmt.Sprintf("monitor:%d:defaced", m.ID), fmt.Sprintf("monitor:%d:changed", m.ID)
	switch r.Verdict {
	case page.Defaced:
		_, err = s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "webmon.website_defaced", Severity: alert.Critical, DedupKey: defaced,
			AssetID: m.AssetID, AgencyID: &m.AgencyID, Title: "Website bị thay đổi giao diện: " + m.Name, Details: describe(m, r)})
	case page.Changed:
		// No longer looks defaced; a legitimate-looking change is worth a note.
		if _, err = s.alerts.Recover(ctx, Source, defaced); err == nil {
			_, err = s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "webmon.website_changed", Severity: alert.Info, DedupKey: changed,
				AssetID: m.AssetID, AgencyID: &m.AgencyID, Title: "Nội dung website thay đổi: " + m.Name, Details: describe(m, r)})
		}
	default:
		if _, err = s.alerts.Recover(ctx, Source, defaced); err == nil {
			_, err = s.alerts.Recover(ctx, Source, changed)
		}
	}
	if err != nil {
		s.log.Error("content alert", "monitor", m.ID, "err", err)
	}
	s.mu.Lock()
	s.verdicts[m.ID] = string(r.Verdict)
	s.mu.Unlock()
}

func describe(m Monitor, r page.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nscore %.2f\n", m.URL, r.Score)
	for _, x := range r.Reasons {
		fmt.Fprintf(&b, "- %s: %s\n", x.Signal, x.Detail)
	}
	return b.String()
}

// baseline returns a monitor's stored baseline, nil while it is learning.
func (s *Service) baseline(ctx context.Context, id int64) (*page.Baseline, error) {
	s.mu.Lock()
	b, ok := s.baselines[id]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	var raw string
	if err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT baseline FROM monitors WHERE id = ?`), id).Scan(&raw); err != nil {
		return nil, err
	}
	if raw != "" {
		b = new(page.Baseline)
		if err := json.Unmarshal([]byte(raw), b); err != nil {
			b = nil // unreadable: learn again
		}
	}
	s.mu.Lock()
	s.baselines[id] = b
	s.mu.Unlock()
	return b, nil
}

// learn folds a fetch into a monitor's baseline in the making (only the
// compact baseline is held, never the fetched pages) and stores it once
// LearnFetches have been seen.
func (s *Service) learn(ctx context.Context, id int64, f *page.Features) {
	s.mu.Lock()
	b := s.learning[id].Add(f)
	if b.Fetches < LearnFetches {
		s.learning[id] = b
		s.mu.Unlock()
		return
	}
	delete(s.learning, id)
	s.mu.Unlock()
	raw, err := json.Marshal(b)
	if err == nil {
		_, err = s.store.DB().ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET baseline = ? WHERE id = ?`), string(raw), id)
	}
	if err != nil {
		s.log.Error("store baseline", "monitor", id, "err", err)
		return
	}
	s.mu.Lock()
	s.baselines[id] = b
	s.mu.Unlock()
}

// ResetBaseline accepts the page as it is now as the new normal: the
// baseline is dropped and learned again from the next fetches. Scoped to
// the actor's agencies and audited.
func (s *Service) ResetBaseline(ctx context.Context, actor model.Actor, id int64) error {
	m, err := s.Get(ctx, actor.Scope, id)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET baseline = '' WHERE id = ?`), id); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "reset_baseline", "monitor", id, &m.AgencyID, nil, map[string]any{"url": m.URL})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.baselines, id)
	delete(s.learning, id)
	s.mu.Unlock()
	return nil
}
