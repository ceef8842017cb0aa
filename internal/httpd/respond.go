package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"canhgac/internal/model"
)

// Error codes of the JSON API's error envelope.
const (
	CodeInvalid        = "invalid"
	CodeUnauthorized   = "unauthorized"
	CodeForbidden      = "forbidden"
	CodeNotFound       = "not_found"
	CodeConflict       = "conflict"
	CodeTooLarge       = "too_large"
	CodeRateLimited    = "rate_limited"
	CodeInternal       = "internal"
	CodeMustChangePass = "password_change_required"
)

// APIError is the body of every JSON error: {"error":{"code":…,"message":…,"field":…}}.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// WriteError writes the JSON error envelope.
func WriteError(w http.ResponseWriter, status int, code, field, format string, args ...any) {
	WriteJSON(w, status, map[string]APIError{"error": {Code: code, Message: fmt.Sprintf(format, args...), Field: field}})
}

// StatusOf maps a domain error to an HTTP status, code and field.
func StatusOf(err error) (status int, code, field, msg string) {
	var ve *model.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ve):
		return http.StatusBadRequest, CodeInvalid, ve.Field, ve.Error()
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, CodeTooLarge, "", fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound, CodeNotFound, "", "not found"
	case errors.Is(err, model.ErrConflict):
		return http.StatusConflict, CodeConflict, "", err.Error()
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden, CodeForbidden, "", err.Error()
	case errors.Is(err, model.ErrUnauthenticated):
		// Nothing more: a revoked or unknown credential learns nothing.
		return http.StatusUnauthorized, CodeUnauthorized, "", "unauthenticated"
	}
	return http.StatusInternalServerError, CodeInternal, "", "internal error"
}

// WriteErr writes err as a JSON error, logging unexpected ones.
func WriteErr(w http.ResponseWriter, r *http.Request, err error) {
	status, code, field, msg := StatusOf(err)
	if status == http.StatusInternalServerError {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	WriteError(w, status, code, field, "%s", msg)
}

// DecodeJSON reads a JSON body into v, refusing unknown fields, trailing data
// and bodies over the server's limit, with errors that name the problem.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return model.Invalid("Content-Type", "must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return model.Invalid("body", "has data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return model.Invalid("body", "has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return model.Invalid("body", "is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return model.Invalid("body", "is truncated JSON")
	case errors.As(err, &syn):
		return model.Invalid("body", "is malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return model.Invalid(field, "must be a JSON %s, not %s", typ.Type.Kind(), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return model.Invalid(name, "is not a known field")
	}
	return model.Invalid("body", "%v", err)
}
