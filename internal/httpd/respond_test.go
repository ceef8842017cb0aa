package httpd

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"canhgac/internal/model"
)

type sample struct {
	Name  string   `json:"name"`
	Level *int     `json:"level"`
	Tags  []string `json:"tags"`
}

func decode(body, contentType string, limit int64) (sample, error) {
	r := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
	var s sample
	err := DecodeJSON(r, &s)
	return s, err
}

// Every refusal names the field or the body, and says what is wrong.
func TestDecodeJSONNamesTheProblem(t *testing.T) {
	for _, c := range []struct{ body, ct, field, msg string }{
		{"", "application/json", "body", "empty"},
		{`{"name":`, "application/json", "body", "truncated"},
		{`{"name" "x"}`, "application/json", "body", "malformed JSON at byte"},
		{`{"name":"x","evil":1}`, "application/json", "evil", "not a known field"},
		{`{"level":"three"}`, "application/json", "level", "must be a JSON int"},
		{`{"name":"x"} {"name":"y"}`, "application/json", "body", "after the JSON value"},
		{`{"name":"x"}`, "text/plain", "Content-Type", "application/json"},
	} {
		_, err := decode(c.body, c.ct, 1<<20)
		var ve *model.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || !strings.Contains(ve.Message, c.msg) {
			t.Errorf("%q: %v, want field %q with %q", c.body, err, c.field, c.msg)
		}
	}
	if _, err := decode(`{"name":"`+strings.Repeat("a", 2000)+`"}`, "application/json", 1000); func() bool {
		var mbe *http.MaxBytesError
		return !errors.As(err, &mbe)
	}() {
		t.Errorf("oversize body: %v, want MaxBytesError", err)
	}
	if status, _, _, _ := StatusOf(&http.MaxBytesError{Limit: 1}); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize maps to %d", status)
	}
	s, err := decode(`{"name":"Sở Y tế","level":3,"tags":["a"]}`, "application/json; charset=utf-8", 1<<20)
	if err != nil || s.Name != "Sở Y tế" || *s.Level != 3 {
		t.Fatalf("good body: %+v %v", s, err)
	}
}

// DecodeJSON never panics, and whatever it refuses it refuses as a 400 or
// 413, never as an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"name":"x"}`, `{"level":1e999}`, `[1,2]`, `{"tags":[null]}`, `{"name":"\ud800"}`, `{"a":1}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := decode(body, "application/json", 4096)
		if err == nil {
			return
		}
		if status, _, _, _ := StatusOf(err); status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%q: status %d for %v", body, status, err)
		}
	})
}
