package notify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// PermanentError marks a failure that retrying cannot fix: the provider
// refused the request itself (HTTP 4xx other than 408 and 429, SMTP 5xx),
// authentication failed, the recipient is unusable, or the configuration
// cannot work (a redirect to another host, a certificate that does not
// verify). The outbox gives up on it. Every other error is temporary.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying failure.
func (e *PermanentError) Unwrap() error { return e.Err }

// permanent wraps err as a *PermanentError; nil stays nil.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// permanentf is fmt.Errorf wrapped as a *PermanentError.
func permanentf(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err (or anything it wraps) is a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// StatusError is a provider's answer that was not success: an HTTP status,
// or Telegram's error_code, with the provider's own description (bounded).
// Send returns it wrapped, in a *PermanentError when retrying cannot help.
type StatusError struct {
	Channel     string        // channel kind, e.g. "telegram"
	Code        int           // HTTP status or Telegram error_code
	Description string        // provider's words, at most a few hundred bytes
	RetryAfter  time.Duration // how long the provider asked us to wait; 0 = not said
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: status %d", e.Channel, e.Code)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// RetryAfter returns how long the provider asked us to wait before the next
// attempt (HTTP 429/503 Retry-After, Telegram's parameters.retry_after), if it
// said so.
func RetryAfter(err error) (time.Duration, bool) {
	var s *StatusError
	if errors.As(err, &s) && s.RetryAfter > 0 {
		return s.RetryAfter, true
	}
	return 0, false
}

// temporaryStatus reports whether an HTTP-like status code is worth retrying:
// server errors, request timeout and rate limiting. Other 4xx are the request's
// fault; anything unexpected (1xx, 3xx that we refused to follow) will not
// change by itself either.
func temporaryStatus(code int) bool {
	return code >= 500 || code == 408 || code == 429
}

// classifyStatus wraps a *StatusError as permanent unless its code is
// temporary.
func classifyStatus(s *StatusError) error {
	if temporaryStatus(s.Code) {
		return s
	}
	return &PermanentError{Err: s}
}

// classifyNetError marks TLS failures that only a person can fix permanent:
// a certificate that does not verify (unknown authority, wrong name,
// expired), or a server that does not speak TLS at all where the
// configuration says it does (port 587 configured as "tls", an https URL on
// a plain http port). Retrying would only hide them. Other network failures
// stay temporary.
func classifyNetError(err error) error {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var ierr x509.CertificateInvalidError
	var rerr tls.RecordHeaderError
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &ierr) || errors.As(err, &rerr) {
		return permanent(err)
	}
	return err
}
