package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	r.Add("http_requests_total", "Requests.", Labels("route", "GET /x", "code", "200"), 1)
	r.Add("http_requests_total", "Requests.", Labels("route", "GET /x", "code", "200"), 2)
	r.Observe("http_request_duration_seconds", "Latency.", Labels("route", `a"b`), 0.03)
	r.Gauge("db_open", "Open connections.", func() float64 { return 4 })
	var b strings.Builder
	r.WriteTo(&b)
	out := b.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter\n",
		`http_requests_total{route="GET /x",code="200"} 3` + "\n",
		`http_request_duration_seconds_bucket{route="a\"b",le="0.025"} 0` + "\n",
		`http_request_duration_seconds_bucket{route="a\"b",le="0.05"} 1` + "\n",
		`http_request_duration_seconds_bucket{route="a\"b",le="+Inf"} 1` + "\n",
		`http_request_duration_seconds_count{route="a\"b"} 1` + "\n",
		"db_open 4\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
}
