package cli

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// The profiler exposes memory contents, so it must never listen beyond
// loopback; on loopback it serves the pprof index.
func TestDebugListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "[::]:0", "nonsense"} {
		err := startDebug(addr)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("startDebug(%q) = %v, want a usage error", addr, err)
		}
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := startDebug(addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("pprof index: %d %q", resp.StatusCode, body[:min(len(body), 200)])
	}
}

// Held long-polls are connections: more than half the open-file limit is
// lowered, with a warning; fewer are left alone.
func TestPollSlotsFitTheFileLimit(t *testing.T) {
	limit, ok := openFileLimit()
	if !ok {
		t.Skip("no open-file limit on this system")
	}
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	room := int((min(limit, 1<<30) - min(limit, 256)) / 2)
	if got := fitPollSlots(room+1000, log); got != max(room, 1) || !strings.Contains(logged.String(), "open-file limit") {
		t.Fatalf("asked %d under a limit of %d: got %d, log %q", room+1000, limit, got, logged.String())
	}
	logged.Reset()
	if got := fitPollSlots(1, log); got != 1 || logged.Len() != 0 {
		t.Fatalf("one slot became %d (%q)", got, logged.String())
	}
}
