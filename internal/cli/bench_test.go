package cli

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestBenchWebmonReports(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(&Env{Stdout: &out, Stderr: &errb}, []string{"bench", "webmon", "--sites", "20", "--interval", "200ms", "--duration", "1500ms", "--json"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Checks          int64   `json:"checks"`
		ChecksPerSecond float64 `json:"checks_per_second"`
		PeakRSSMB       float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	// 20 sites every 200 ms for 1.5 s: about 150 checks (fewer under the
	// race detector; speed is the benchmark's business, not this test's).
	if res.Checks < 10 || res.ChecksPerSecond <= 0 || res.PeakRSSMB <= 0 {
		t.Fatalf("bench result %+v", res)
	}
	if code := Main(&Env{Stdout: &out, Stderr: &errb}, []string{"bench", "nothing"}); code != 2 {
		t.Fatalf("unknown bench subject: exit %d", code)
	}
}
