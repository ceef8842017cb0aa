//go:build !windows

package agent

import (
	"context"
	"strings"
	"testing"

	agentdeploy "canhgac/deploy/agent"
)

func TestRunServiceNotHandledOffWindows(t *testing.T) {
	ran := false
	handled, err := RunService(ServiceName, func(context.Context) error { ran = true; return nil }, false)
	if handled || err != nil || ran {
		t.Fatalf("handled %v, err %v, ran %v", handled, err, ran)
	}
	// --service off Windows is a mistake, said so, and nothing runs.
	handled, err = RunService(ServiceName, func(context.Context) error { ran = true; return nil }, true)
	if !handled || err == nil || ran {
		t.Fatalf("forced: handled %v, err %v, ran %v", handled, err, ran)
	}
}

func TestSystemdUnit(t *testing.T) {
	// The packaged unit as is: default paths, nothing extra writable.
	u, err := SystemdUnit("/usr/bin/canhgac", "/var/lib/canhgac-agent/agent.json", "/var/lib/canhgac-agent/queue")
	if err != nil {
		t.Fatal(err)
	}
	if u != agentdeploy.SystemdUnit {
		t.Fatalf("default paths changed the packaged unit:\n%s", u)
	}
	// Odd characters are quoted for systemd.
	u, err = SystemdUnit("/opt/my tools/canhgac", "/srv/a%b/agent.json", "/var/lib/canhgac-agent/q")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, `ExecStart="/opt/my tools/canhgac" agent run --state /srv/a%%b/agent.json --queue /var/lib/canhgac-agent/q`+"\n") {
		t.Fatalf("ExecStart not quoted:\n%s", u)
	}
	if !strings.Contains(u, "ReadWritePaths=/var/lib/canhgac-agent -/srv/a%%b\n") {
		t.Fatalf("state directory not writable:\n%s", u)
	}
	if _, err := SystemdUnit("canhgac", "/a", "/b"); err == nil {
		t.Fatal("relative executable accepted")
	}
	if _, err := SystemdUnit("/x", "/a\nExecStartPre=/bin/evil", "/b"); err == nil {
		t.Fatal("line break accepted")
	}
}
