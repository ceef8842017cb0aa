package webmon

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/webmon/fetch"
	"canhgac/internal/webmon/page"
	"canhgac/internal/webmon/render"
	"canhgac/internal/webmon/tlscheck"
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
func (s *Service) content(ctx context.Context, m Monitor, o Outcome) {
	body, at := o.Body, o.URL
	if at == "" {
		at = m.URL
	}
	if m.RenderJS && s.cfg.Render != nil {
		// The page builds itself in the browser: judge the rendered DOM.
		rctx, cancel := context.WithTimeout(ctx, time.Duration(m.TimeoutSeconds)*time.Second+15*time.Second)
		res, err := s.cfg.Render.Render(rctx, render.Request{URL: m.URL, UserAgent: BrowserUA})
		cancel()
		if err != nil {
			s.log.Warn("render", "monitor", m.ID, "err", err)
		} else {
			body = res.HTML
			if res.FinalURL != "" {
				at = res.FinalURL
			}
		}
	}
	f, err := page.Extract(body, at)
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
		r = page.Analyze(f, nil, page.Options{Domains: s.cfg.Domains})
		if r.Verdict != page.Defaced {
			s.learn(ctx, m, f, at, body)
		}
	} else {
		r = page.Analyze(f, base, page.Options{Domains: s.cfg.Domains})
	}
	defaced, changed := fmt.Sprintf("monitor:%d:defaced", m.ID), fmt.Sprintf("monitor:%d:changed", m.ID)
	switch r.Verdict {
	case page.Defaced:
		details := describe(m, r)
		if id := s.snapshot(ctx, m, "page", at, body, r, true); id > 0 {
			details += fmt.Sprintf("evidence: /monitors/%d/snapshots/%d\n", m.ID, id)
		}
		_, err = s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "webmon.website_defaced", Severity: alert.Critical, DedupKey: defaced,
			AssetID: m.AssetID, AgencyID: &m.AgencyID, Title: "Website bị thay đổi giao diện: " + m.Name, Details: details})
	case page.Changed:
		// No longer looks defaced; a legitimate-looking change is worth a note.
		details := describe(m, r)
		if id := s.snapshot(ctx, m, "page", at, body, r, false); id > 0 {
			details += fmt.Sprintf("evidence: /monitors/%d/snapshots/%d\n", m.ID, id)
		}
		if _, err = s.alerts.Recover(ctx, Source, defaced); err == nil {
			_, err = s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "webmon.website_changed", Severity: alert.Info, DedupKey: changed,
				AssetID: m.AssetID, AgencyID: &m.AgencyID, Title: "Nội dung website thay đổi: " + m.Name, Details: details})
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
func (s *Service) learn(ctx context.Context, m Monitor, f *page.Features, at string, body []byte) {
	id := m.ID
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
	s.snapshot(ctx, m, "baseline", at, body, page.Result{Verdict: page.Clean}, false)
}

// ResetBaseline accepts the page as it is now as the new normal: the
// baseline is dropped and learned again from the next fetches, and the
// DNS answers of the next deep check become the DNS baseline. Scoped to
// the actor's agencies and audited.
func (s *Service) ResetBaseline(ctx context.Context, actor model.Actor, id int64) error {
	m, err := s.Get(ctx, actor.Scope, id)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET baseline = '', dns_baseline = '' WHERE id = ?`), id); err != nil {
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

// certificate raises tls_invalid when an HTTPS check failed on the
// certificate (with what is wrong with it), and tls_expiring when the
// certificate is within 30, 14 or 7 days of expiry: one alert per
// threshold, so each step notifies again. A good certificate resolves
// them. State is kept in memory so a steady site costs no alert calls.
func (s *Service) certificate(ctx context.Context, m Monitor, o Outcome) {
	if !strings.HasPrefix(strings.ToLower(m.URL), "https://") {
		return
	}
	invalid := fmt.Sprintf("monitor:%d:tls_invalid", m.ID)
	expiring := func(w int) string { return fmt.Sprintf("monitor:%d:tls_expiring:%d", m.ID, w) }
	s.mu.Lock()
	prev, known := s.tlsWarn[m.ID]
	s.mu.Unlock()
	warn := 0
	switch {
	case o.Kind == fetch.KindTLS:
		u, err := url.Parse(m.URL)
		if err != nil {
			return
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		c := tlscheck.Checker{Roots: s.cfg.Fetch.RootCAs, Dial: fetch.Dialer(s.policy(m))}
		res, err := c.Check(ctx, net.JoinHostPort(u.Hostname(), port), u.Hostname())
		detail := o.Reason
		if err == nil && res.Problem != tlscheck.OK {
			detail = fmt.Sprintf("%s: %s (subject %s, issuer %s, expires %s)", res.Problem, res.Detail, res.Subject, res.Issuer, res.NotAfter.Format(time.DateOnly))
		}
		s.raiseOrRecover(ctx, m, true, alert.Alert{Kind: "webmon.tls_invalid", Severity: alert.High, DedupKey: invalid,
			Title: "Chứng thư số không hợp lệ: " + m.Name, Details: m.URL + "\n" + detail})
		s.mu.Lock()
		s.tlsWarn[m.ID] = -1
		s.mu.Unlock()
		return
	case !o.Up && o.CertNotAfter.IsZero():
		return // down for another reason: nothing to say about the certificate
	case !o.CertNotAfter.IsZero():
		days := int(time.Until(o.CertNotAfter).Hours() / 24)
		for _, w := range tlscheck.WarnDays {
			if days <= w {
				warn = w
			}
		}
	}
	if known && prev == warn {
		return
	}
	if !known || prev == -1 {
		s.raiseOrRecover(ctx, m, false, alert.Alert{DedupKey: invalid})
	}
	for _, w := range tlscheck.WarnDays {
		if w != warn && (!known || prev == -1 || prev == w) {
			s.raiseOrRecover(ctx, m, false, alert.Alert{DedupKey: expiring(w)})
		}
	}
	if warn > 0 {
		sev := alert.Medium
		if warn <= 7 {
			sev = alert.High
		}
		s.raiseOrRecover(ctx, m, true, alert.Alert{Kind: "webmon.tls_expiring", Severity: sev, DedupKey: expiring(warn),
			Title:   fmt.Sprintf("Chứng thư số hết hạn trong %d ngày: %s", warn, m.Name),
			Details: fmt.Sprintf("%s\ncertificate expires %s", m.URL, o.CertNotAfter.Format(time.RFC3339))})
	}
	s.mu.Lock()
	s.tlsWarn[m.ID] = warn
	s.mu.Unlock()
}
