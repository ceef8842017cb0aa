package cli

import (
	"errors"
	"io"
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
