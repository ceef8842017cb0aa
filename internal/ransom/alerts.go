package ransom

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"canhgac/internal/alert"
	"canhgac/internal/fleet"
)

// EventKind is the agent event that carries a detection to the server.
const EventKind = "ransom.detection"

// AlertKind is the alert a detection raises.
const AlertKind = "ransomware_suspected"

// AgentEvent is a detection as the agent uploads it: what was seen and
// what the agent did about it.
type AgentEvent struct {
	Detection
	Action string `json:"action"`
}

// Raiser is the part of the alert pipeline detections need.
type Raiser interface {
	Raise(ctx context.Context, a alert.Alert) (alert.RaiseResult, error)
}

// AlertOnDetection returns the fleet event handler that raises a critical
// ransomware_suspected alert for each detection an agent reports, on the
// agent's machine (asset) and agency. Repeats for the same program on the
// same machine update one open alert.
func AlertOnDetection(r Raiser) fleet.EventHandler {
	return func(ctx context.Context, a fleet.Agent, e fleet.Event) error {
		var ev AgentEvent
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			return nil // stored as sent; nothing to alert on
		}
		_, err := r.Raise(ctx, DetectionAlert(a, ev))
		return err
	}
}

// clip bounds a string from an agent for the alert.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// DetectionAlert builds the alert for one detection on an agent's machine.
func DetectionAlert(a fleet.Agent, ev AgentEvent) alert.Alert {
	who := ev.Actor.Exe
	if who == "" {
		who = "pid " + strconv.Itoa(ev.Actor.Pid)
		if ev.Actor.Pid == 0 {
			who = "unattributed"
		}
	}
	agency := a.AgencyID
	var details strings.Builder
	fmt.Fprintf(&details, "Host %s: process %s (pid %d, user %s) score %.1f; response: %s.\n", a.Hostname,
		clip(who, 300), ev.Actor.Pid, clip(ev.Actor.User, 64), ev.Score, clip(ev.Action, 300))
	for _, r := range ev.Reasons[:min(len(ev.Reasons), 10)] {
		fmt.Fprintf(&details, "- %s\n", clip(r, 400))
	}
	evidence := make([]alert.Evidence, 0, min(len(ev.Files), 20))
	for _, f := range ev.Files[:min(len(ev.Files), 20)] {
		evidence = append(evidence, alert.Evidence{Kind: "file", Ref: clip(f, 1000)})
	}
	title := "Nghi mã độc mã hóa dữ liệu trên " + clip(a.Hostname, 100)
	if ev.Canary {
		title += " (tệp mồi bị tác động)"
	}
	return alert.Alert{Source: "ransom", Kind: AlertKind, Severity: alert.Critical,
		DedupKey: fmt.Sprintf("agent:%d:%s", a.ID, clip(who, 300)), AssetID: a.AssetID, AgencyID: &agency,
		Title: title, Details: details.String(), Evidence: evidence,
		Labels: map[string]string{"host": clip(a.Hostname, 100), "exe": clip(ev.Actor.Exe, 300),
			"pid": strconv.Itoa(ev.Actor.Pid), "user": clip(ev.Actor.User, 64), "action": clip(ev.Action, 300)}}
}

// WebshellEventKind is the agent event that carries a web shell finding.
const WebshellEventKind = "fim.webshell"

// WebshellAlertKind is the alert a web shell finding raises.
const WebshellAlertKind = "webshell_suspected"

// AlertOnWebshell returns the fleet event handler that raises a high
// webshell_suspected alert for each web shell an agent finds, on the
// agent's machine and agency; the same file again updates one alert.
func AlertOnWebshell(r Raiser) fleet.EventHandler {
	return func(ctx context.Context, a fleet.Agent, e fleet.Event) error {
		var f WebshellFinding
		if err := json.Unmarshal(e.Data, &f); err != nil || f.Path == "" {
			return nil
		}
		_, err := r.Raise(ctx, WebshellAlert(a, f))
		return err
	}
}

// WebshellAlert builds the alert for a web shell found on an agent's machine.
func WebshellAlert(a fleet.Agent, f WebshellFinding) alert.Alert {
	agency := a.AgencyID
	var details strings.Builder
	fmt.Fprintf(&details, "Host %s: %s (web root %s, %d bytes, sha256 %s) score %.0f; written by %s (pid %d, user %s).\n",
		a.Hostname, clip(f.Path, 500), clip(f.Root, 300), f.Size, clip(f.SHA256, 64), f.Score, clip(f.Actor.Exe, 300),
		f.Actor.Pid, clip(f.Actor.User, 64))
	for _, r := range f.Reasons[:min(len(f.Reasons), 10)] {
		fmt.Fprintf(&details, "- %s\n", clip(r, 300))
	}
	return alert.Alert{Source: "fim", Kind: WebshellAlertKind, Severity: alert.High,
		DedupKey: fmt.Sprintf("agent:%d:%s", a.ID, clip(f.Path, 500)), AssetID: a.AssetID, AgencyID: &agency,
		Title: "Nghi webshell trên " + clip(a.Hostname, 100) + ": " + clip(filepath.Base(f.Path), 100), Details: details.String(),
		Evidence: []alert.Evidence{{Kind: "file", Ref: clip(f.Path, 1000), Note: "sha256 " + clip(f.SHA256, 64)}},
		Labels:   map[string]string{"host": clip(a.Hostname, 100), "path": clip(f.Path, 500), "sha256": clip(f.SHA256, 64)}}
}

// FIMEventKind is the agent event that carries a system file change.
const FIMEventKind = "fim.change"

// FIMAlertKind is the alert system file changes raise.
const FIMAlertKind = "fim_changed"

// persistence names system files attackers change to stay or get in:
// their changes are high, the rest medium.
var persistence = []string{"/cron", "/systemd/", "/ssh", "sudoers", "/passwd", "/shadow", "/ld.so.preload", "/rc.local", "/profile"}

// AlertOnFIMChange returns the fleet event handler that raises a
// fim_changed alert per machine and system folder (a package upgrade
// changes hundreds of files: one alert counts them, the latest is shown).
func AlertOnFIMChange(r Raiser) fleet.EventHandler {
	return func(ctx context.Context, a fleet.Agent, e fleet.Event) error {
		var c FIMChange
		if err := json.Unmarshal(e.Data, &c); err != nil || c.Path == "" {
			return nil
		}
		_, err := r.Raise(ctx, FIMAlert(a, c))
		return err
	}
}

// FIMAlert builds the alert for one system file change.
func FIMAlert(a fleet.Agent, c FIMChange) alert.Alert {
	agency := a.AgencyID
	sev := alert.Medium
	for _, p := range persistence {
		if strings.Contains(c.Path, p) {
			sev = alert.High
			break
		}
	}
	folder := filepath.Dir(c.Path)
	if parts := strings.SplitN(strings.TrimPrefix(filepath.ToSlash(c.Path), "/"), "/", 3); len(parts) >= 2 {
		folder = "/" + parts[0] + "/" + parts[1]
		if len(parts) == 2 {
			folder = "/" + parts[0]
		}
	}
	var details strings.Builder
	fmt.Fprintf(&details, "Host %s: %s %s by %s (pid %d, user %s).\nsha256 before %s\nsha256 after  %s\n", a.Hostname,
		clip(c.Path, 500), clip(c.Change, 20), clip(c.Actor.Exe, 300), c.Actor.Pid, clip(c.Actor.User, 64),
		clip(c.Before, 64), clip(c.After, 64))
	if c.Diff != "" {
		fmt.Fprintf(&details, "\n%s\n", clip(c.Diff, 8000))
	}
	return alert.Alert{Source: "fim", Kind: FIMAlertKind, Severity: sev,
		DedupKey: fmt.Sprintf("agent:%d:%s:%s", a.ID, sev, clip(folder, 300)), AssetID: a.AssetID, AgencyID: &agency,
		Title:    "Tệp hệ thống thay đổi trên " + clip(a.Hostname, 100) + ": " + clip(folder, 100),
		Details:  details.String(),
		Evidence: []alert.Evidence{{Kind: "file", Ref: clip(c.Path, 1000), Note: clip(c.Change, 20)}},
		Labels:   map[string]string{"host": clip(a.Hostname, 100), "path": clip(c.Path, 500), "change": clip(c.Change, 20)}}
}
