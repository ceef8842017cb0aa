package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/model"
)

// Shared plumbing for the HTTP providers (telegram, webhook, slack).

const (
	defaultHTTPTimeout = 10 * time.Second
	maxResponseBody    = 64 << 10 // read at most this much of any answer
	maxDescription     = 300      // bytes of a provider's answer kept in errors
	maxRedirects       = 3
	userAgent          = "canhgac-notify/1"
)

// transport is shared by all HTTP channels so connections are reused. It
// honours HTTPS_PROXY/NO_PROXY, which provincial networks often need to
// reach api.telegram.org; loopback is never proxied.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}()

// newHTTPClient returns a client with the given overall timeout that follows
// only method-preserving redirects (307, 308) to the same host without
// downgrading to http: a POST turned into a GET would report success without
// delivering anything, and another host must not receive tokens or bodies.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			switch {
			case len(via) >= maxRedirects,
				req.Response == nil,
				req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect,
				!strings.EqualFold(req.URL.Hostname(), first.Hostname()),
				first.Scheme == "https" && req.URL.Scheme != "https":
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// response is what the HTTP providers look at in an answer.
type response struct {
	status int
	header http.Header
	body   []byte // at most maxResponseBody bytes
}

// post sends body to rawURL and reads a bounded answer. safeURL is rawURL with
// its secrets masked; it is the only form of the URL that may appear in an
// error. Network failures come back as temporary errors.
func post(ctx context.Context, client *http.Client, channel, rawURL, safeURL string, header http.Header, body []byte) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, permanentf("%s: POST %s: bad request URL", channel, safeURL)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return nil, classifyNetError(fmt.Errorf("%s: %w", channel, scrubURLError(err, safeURL)))
	}
	defer resp.Body.Close()
	// The status is what counts; a body cut short only shortens the description.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// scrubURLError replaces the URL inside a *url.Error (which would otherwise
// carry a bot token or a secret webhook path) by safeURL. The wrapped cause
// (a net or context error) does not contain the URL and stays reachable
// through errors.Is and errors.As.
func scrubURLError(err error, safeURL string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: safeURL, Err: ue.Err}
	}
	return err
}

// statusError describes an answer that was not 2xx, classified: 408, 429 and
// 5xx are temporary, everything else (other 4xx, refused redirects)
// permanent. Retry-After is honoured on 429 and 503.
func statusError(channel string, r *response) error {
	s := &StatusError{Channel: channel, Code: r.status, Description: describe(r.body)}
	if r.status/100 == 3 {
		s.Description = "redirect not followed (only 307/308 to the same host are)"
	}
	if r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable {
		s.RetryAfter = parseRetryAfter(r.header.Get("Retry-After"), time.Now())
	}
	return classifyStatus(s)
}

// describe turns an answer body into a short single line for an error.
func describe(body []byte) string {
	return oneLine(string(body[:min(len(body), maxDescription)]), maxDescription)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// Nonsense and past dates give 0; the result is capped at one day.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, 86400)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), 24*time.Hour)
}

// checkHTTPURL validates a configured endpoint: absolute http or https with a
// host, no user:password (put credentials in a header instead), and no
// fragment.
func checkHTTPURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, model.Invalid(field, "is required")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return nil, model.Invalid(field, "must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, model.Invalid(field, "must use http or https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, model.Invalid(field, "has no host")
	}
	if u.User != nil {
		return nil, model.Invalid(field, "must not contain a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, model.Invalid(field, "must not contain a fragment (#…)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, model.Invalid(field, "has a bad port %q", p)
		}
	}
	return u, nil
}

// redactURL masks the parts of an endpoint URL that act as a password: every
// path segment after the first (Slack's /services/T…/B…/secret, Mattermost's
// /hooks/key) and every query value. Scheme, host and the first segment stay
// visible so users can tell endpoints apart. An unparsable URL is masked whole.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Mask
	}
	s := u.Scheme + "://" + u.Host
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	switch {
	case len(segs) > 1:
		s += "/" + segs[0] + "/" + Mask
	case segs[0] != "":
		s += "/" + Mask
	}
	if u.RawQuery != "" {
		q := u.Query()
		parts := make([]string, 0, len(q))
		for k := range q {
			parts = append(parts, url.QueryEscape(k)+"="+Mask)
		}
		slices.Sort(parts)
		s += "?" + strings.Join(parts, "&")
	}
	return s
}

// keepURL implements Merge for a secret URL: an update that sends back the
// redacted form of the stored URL keeps the stored one.
func keepURL(updated, old string) string {
	if old != "" && (updated == Mask || updated == redactURL(old)) {
		return old
	}
	return updated
}

// checkNotRedacted refuses a URL that still contains the mask: the user
// edited a redacted URL instead of entering the whole URL again.
func checkNotRedacted(field, raw string) error {
	if strings.Contains(raw, Mask) || strings.Contains(raw, url.QueryEscape(Mask)) {
		return model.Invalid(field, "still contains the hidden part (%s); enter the whole URL again", Mask)
	}
	return nil
}
