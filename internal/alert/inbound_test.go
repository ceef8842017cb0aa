package alert_test

import (
	"errors"
	"strings"
	"testing"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// An Alertmanager webhook as Alertmanager 0.27 sends it.
const amPayload = `{
  "version": "4", "groupKey": "{}:{alertname=\"HostDown\"}", "truncatedAlerts": 0, "status": "firing", "receiver": "canhgac",
  "groupLabels": {"alertname": "HostDown"}, "commonLabels": {"alertname": "HostDown", "severity": "critical"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager.syt.local:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "HostDown", "instance": "10.20.0.5:9100", "severity": "critical", "job": "node"},
     "annotations": {"summary": "Máy chủ 10.20.0.5 không phản hồi", "description": "node_exporter down for 5m"},
     "startsAt": "2027-02-05T19:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom.syt.local/graph", "fingerprint": "a1b2c3d4e5f60718"},
    {"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "10.20.0.6:9100", "severity": "warning"},
     "annotations": {}, "startsAt": "2027-02-05T18:00:00Z", "endsAt": "2027-02-05T18:30:00Z", "fingerprint": "ffee000011112222"}
  ]
}`

func TestParseAlertmanager(t *testing.T) {
	items, err := alert.ParseAlertmanager(strings.NewReader(amPayload))
	must(t, err)
	if len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	a := items[0]
	if a.Resolved || a.Alert.Severity != alert.Critical || a.Alert.Kind != "external.hostdown" || a.Alert.DedupKey != "am:a1b2c3d4e5f60718" ||
		a.Alert.Title != "Máy chủ 10.20.0.5 không phản hồi" || !strings.Contains(a.Alert.Details, "prom.syt.local") {
		t.Fatalf("firing alert: %+v", a)
	}
	if b := items[1]; !b.Resolved || b.Alert.Severity != alert.Medium || b.Alert.Title != "DiskFull (10.20.0.6:9100)" {
		t.Fatalf("resolved alert: %+v", b)
	}
	for _, bad := range []string{``, `{}`, `{"alerts": []}`, `{"alerts": [{"labels": {}}]}`, `[1]`} {
		var ve *model.ValidationError
		if _, err := alert.ParseAlertmanager(strings.NewReader(bad)); !errors.As(err, &ve) {
			t.Errorf("%q: %v, want a validation error", bad, err)
		}
	}
}

func TestParseGeneric(t *testing.T) {
	one, err := alert.ParseGeneric(strings.NewReader(`{"key": "zbx-123", "severity": "disaster", "title": "Zabbix: CSDL không kết nối được", "kind": "zabbix"}`))
	must(t, err)
	if len(one) != 1 || one[0].Alert.Severity != alert.Critical || one[0].Alert.DedupKey != "gen:zbx-123" || one[0].Alert.Kind != "external.zabbix" {
		t.Fatalf("one: %+v", one)
	}
	many, err := alert.ParseGeneric(strings.NewReader(`{"alerts": [{"title": "a"}, {"title": "b", "status": "resolved", "severity": "low"}]}`))
	must(t, err)
	if len(many) != 2 || many[0].Alert.Severity != alert.High || !many[1].Resolved || many[1].Alert.Severity != alert.Low {
		t.Fatalf("many: %+v", many)
	}
	for _, bad := range []string{`{"title": ""}`, `{"alerts": []}`, `{"title": "x", "status": "maybe"}`, `not json`} {
		if _, err := alert.ParseGeneric(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	big := `{"alerts": [` + strings.Repeat(`{"title": "x"},`, alert.MaxInboundAlerts) + `{"title": "x"}]}`
	if _, err := alert.ParseGeneric(strings.NewReader(big)); err == nil {
		t.Error("more than MaxInboundAlerts accepted")
	}
}

// Inbound alerts land in the source's agency, deduplicate on repeat, and
// recover; a source cannot name another agency's asset.
func TestReceiveFromSource(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, _ := setup(t, s, alert.Config{})
		sys := model.Actor{Scope: model.System}
		src := alert.Source{Name: "Prometheus Sở Y tế", AgencyID: &p.dept.ID}
		tok, err := svc.CreateSource(ctx, sys, &src)
		must(t, err)
		if !strings.HasPrefix(tok, alert.SourceTokenPrefix) {
			t.Fatalf("token %q", tok)
		}
		found, err := svc.SourceByToken(ctx, tok)
		must(t, err)
		if found.ID != src.ID {
			t.Fatal("token does not find its source")
		}
		if _, err := svc.SourceByToken(ctx, tok+"x"); !errors.Is(err, model.ErrNotFound) {
			t.Fatal("a wrong token finds a source")
		}
		items, _ := alert.ParseAlertmanager(strings.NewReader(amPayload))
		raised, resolved, err := svc.Receive(ctx, found, items)
		must(t, err)
		if raised != 1 || resolved != 0 {
			t.Fatalf("raised %d resolved %d", raised, resolved)
		}
		svc.Receive(ctx, found, items)
		page, _ := svc.List(ctx, model.System, alert.Filter{Kind: "external."})
		if page.Total != 1 || page.Items[0].Count != 2 || page.Items[0].AgencyName != "Sở Y tế" || page.Items[0].Source != "inbound:Prometheus Sở Y tế" {
			t.Fatalf("inbound alerts: %+v", page.Items)
		}
		items[0].Resolved = true
		_, resolved, err = svc.Receive(ctx, found, items[:1])
		must(t, err)
		if resolved != 1 {
			t.Fatal("recovery not applied")
		}
		other := model.Agency{Name: "Sở Tài chính", Kind: model.AgencyDepartment, ParentID: p.dept.ParentID}
		must(t, s.CreateAgency(ctx, sys, &other))
		theirs := model.Asset{AgencyID: other.ID, Kind: model.AssetServer, Name: "x", Address: "10.0.0.9"}
		must(t, s.CreateAsset(ctx, sys, &theirs))
		_, _, err = svc.Receive(ctx, found, []alert.Inbound{{Alert: alert.Alert{Kind: "external.x", Severity: alert.High, Title: "x", AssetID: &theirs.ID}}})
		var ve *model.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("source raising on another agency's asset: %v", err)
		}
	})
}

// Parsers of outside input never panic and refuse what they cannot use
// with a validation error.
func FuzzParseInbound(f *testing.F) {
	f.Add(amPayload)
	f.Add(`{"alerts":[{"title":"x","status":"resolved"}]}`)
	f.Add(`{"title":"Nhà cái","severity":"warning","labels":{"a":"b"}}`)
	f.Add(`{"title":" \t"}`)
	f.Add(`{"alerts":[{"labels":{"alertname":" "},"annotations":{"summary":" "}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, parse := range []func(string) ([]alert.Inbound, error){
			func(b string) ([]alert.Inbound, error) { return alert.ParseAlertmanager(strings.NewReader(b)) },
			func(b string) ([]alert.Inbound, error) { return alert.ParseGeneric(strings.NewReader(b)) },
		} {
			items, err := parse(body)
			if err != nil {
				continue
			}
			for _, in := range items {
				a := in.Alert
				a.Source = "fuzz"
				if err := a.Validate(); err != nil {
					t.Fatalf("parsed alert does not validate: %v (%+v)", err, a)
				}
			}
		}
	})
}
