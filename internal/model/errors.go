package model

import (
	"errors"
	"fmt"
)

// Sentinel errors shared by storage and the interfaces above it. Handlers map
// them to HTTP status codes; storage wraps them with context.
var (
	// ErrNotFound means the object does not exist or lies outside the caller's scope.
	// The two are deliberately indistinguishable so scope cannot be probed.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule or a reference would be broken.
	ErrConflict = errors.New("conflict")
	// ErrForbidden means the caller's role may not do this at all.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated means the credential is unknown, expired or
	// revoked (an agent's secret, an enrollment token).
	ErrUnauthenticated = errors.New("unauthenticated")
)

// ValidationError names the field that is wrong and why.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Invalid is shorthand for building a *ValidationError.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}
