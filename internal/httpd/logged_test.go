package httpd

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// One line per request at info level, except agents' routine traffic,
// which is at debug level unless it failed.
func TestRequestLogLevels(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	h := s.logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/bad") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	}))
	for _, path := range []string{"/agent/v1/heartbeat", "/agent/v1/bad", "/api/v1/assets"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	out := buf.String()
	if strings.Contains(out, `"/agent/v1/heartbeat"`) || !strings.Contains(out, `"/agent/v1/bad"`) || !strings.Contains(out, `"/api/v1/assets"`) {
		t.Fatalf("log:\n%s", out)
	}
}
