package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/aadsts"
)

// EndpointError is an error answer of the identity platform's token
// endpoint, reduced to what is safe to show: the OAuth error, the AADSTS
// code and a description. It never holds request or token material.
type EndpointError struct {
	Status      int
	Err         string // OAuth error, e.g. "invalid_grant"
	Code        int    // AADSTS code, e.g. 700082
	Description string // error_description without trace and correlation IDs
}

// Error formats the status, the OAuth error and the AADSTS code.
func (e *EndpointError) Error() string { return "tokens: " + e.detail() }

// detail is Error without the package prefix, for errors that wrap e.
func (e *EndpointError) detail() string {
	s := "token endpoint: " + strconv.Itoa(e.Status) + " " + e.Err
	if e.Code != 0 {
		s += " (AADSTS" + strconv.Itoa(e.Code) + ")"
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is makes transient answers match [m365link.ErrUnavailable].
func (e *EndpointError) Is(target error) bool {
	return target == m365link.ErrUnavailable && (e.Status >= 500 || e.Status == 429)
}

// ErrClientCredentials: the app's own credential was refused (wrong or
// expired client secret, unknown certificate). No user can fix this; the
// host's configuration must change. The error also holds the
// *[EndpointError].
var ErrClientCredentials = errors.New("tokens: the app's client credential was refused")

// credentialError is a refused client credential: [ErrClientCredentials]
// and the answer that said so, in one message with one prefix.
type credentialError struct{ ee *EndpointError }

func (e *credentialError) Error() string   { return ErrClientCredentials.Error() + ": " + e.ee.detail() }
func (e *credentialError) Unwrap() []error { return []error{ErrClientCredentials, e.ee} }

// ErrRedirectRefused: the identity platform answered a request with a
// redirect (301, 302, 303, 307, 308), and the library did not follow it.
// A token request carries the client secret and a refresh token or code,
// and following a 307 or 308 would post them again to wherever the
// redirect points; the library never does, not even on an http.Client the
// host passed in (it uses a copy whose CheckRedirect refuses). Nothing was
// sent to the redirect's target. It is neither transient nor a reason to
// reconnect: check the configured authority (Config.Cloud, the token URL)
// and any proxy on the way.
var ErrRedirectRefused = errors.New("tokens: identity platform redirect refused")

// redirectError is the [ErrRedirectRefused] of one answer. Its text has
// the status only: a Location may carry anything.
type redirectError struct{ status int }

func (e *redirectError) Error() string {
	return "tokens: the identity platform answered " + strconv.Itoa(e.status) +
		" with a redirect, which is never followed: it would resend the credentials"
}

func (e *redirectError) Is(target error) bool { return target == ErrRedirectRefused }

// refuseRedirect is the CheckRedirect of every client the package sends
// credentials with. It is called before the redirected request is sent,
// so the target receives nothing.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	e := &redirectError{status: status}
	if c, ok := req.Context().Value(captureKey{}).(*captured); ok {
		c.set(nil, e, nil)
	}
	return e
}

// noRedirects returns a copy of hc (nil: http.DefaultClient) that refuses
// redirects; the host's client is not changed.
func noRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.CheckRedirect = refuseRedirect
	return &c
}

// unreachableError: the identity platform could not be reached (DNS,
// connect, TLS, a dropped connection, a timeout). It matches
// [m365link.ErrUnavailable], unless the caller cancelled, and unwraps to
// the network error, from which any URL is removed.
type unreachableError struct {
	account m365link.Account // zero when no account is involved (code redemption)
	cause   error
}

func (e *unreachableError) Error() string {
	s := "tokens: identity platform unreachable"
	if e.account != (m365link.Account{}) {
		s += " for " + e.account.Key()
	}
	return s + ": " + e.cause.Error()
}

func (e *unreachableError) Unwrap() error { return e.cause }

func (e *unreachableError) Is(target error) bool {
	return target == m365link.ErrUnavailable && !errors.Is(e.cause, context.Canceled)
}

// withoutURL drops the *url.Error layers http.Client adds: their text
// repeats the request URL.
func withoutURL(err error) error {
	for {
		ue, ok := err.(*url.Error)
		if !ok {
			return err
		}
		err = ue.Err
	}
}

type captureKey struct{}

// captured receives the outcome of the identity platform's last failed
// request in one acquisition: an error answer, a refused redirect or a
// network error (at most one is set). MSAL's own errors carry the whole
// exchange, requests with secrets included, so the library reads what
// happened here instead.
type captured struct {
	mu       gosync.Mutex
	err      *EndpointError
	redirect *redirectError
	net      error
}

func withCapture(ctx context.Context) (context.Context, *captured) {
	c := &captured{}
	return context.WithValue(ctx, captureKey{}, c), c
}

// set records the latest failure, replacing any earlier one.
func (c *captured) set(answer *EndpointError, redirect *redirectError, netErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err, c.redirect, c.net = answer, redirect, netErr
}

func captureOf(r *http.Request) *captured {
	c, _ := r.Context().Value(captureKey{}).(*captured)
	return c
}

// failure returns the captured outcome: the error answer, for the caller
// to classify, or else the library's error for a refused redirect or an
// unreachable platform; both nil when nothing was captured.
func (c *captured) failure(account m365link.Account) (*EndpointError, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.redirect != nil:
		return nil, c.redirect
	case c.net != nil:
		return nil, &unreachableError{account: account, cause: c.net}
	}
	return c.err, nil
}

// endpointTransport sits under MSAL. For token requests it retries
// transient failures (5xx, 429, dropped connections) with capped
// exponential backoff and jitter, and records error answers in the
// request's capture slot. Resending a refresh grant is safe: Entra ID does
// not revoke a refresh token when it issues the next one.
type endpointTransport struct {
	base     http.RoundTripper
	attempts int
	baseWait time.Duration
}

func (t *endpointTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var resp *http.Response
	var err error
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
		resp, err = t.tokenRequest(r)
	} else {
		resp, err = t.base.RoundTrip(r)
	}
	c := captureOf(r)
	if err != nil {
		if c != nil {
			c.set(nil, nil, withoutURL(err))
		}
		return nil, err
	}
	if resp.StatusCode >= 300 && c != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		// A redirect's refusal is recorded by refuseRedirect, which runs after this.
		c.set(parseEndpointError(resp.StatusCode, b), nil, nil)
	}
	return resp, nil
}

// tokenRequest sends a token request, retrying transient failures.
func (t *endpointTransport) tokenRequest(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	for attempt := 1; ; attempt++ {
		rr := r.Clone(r.Context())
		rr.Body = io.NopCloser(bytes.NewReader(body))
		rr.ContentLength = int64(len(body))
		resp, err := t.base.RoundTrip(rr)
		transient := err != nil || resp.StatusCode >= 500 || resp.StatusCode == 429
		if !transient || attempt >= t.attempts || r.Context().Err() != nil {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		wait := rand.N(t.baseWait<<(attempt-1) + 1)
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}

func parseEndpointError(status int, body []byte) *EndpointError {
	var w struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	e := &EndpointError{Status: status}
	if json.Unmarshal(body, &w) != nil {
		e.Err = http.StatusText(status)
		return e
	}
	e.Err = w.Error
	if len(w.Codes) > 0 {
		e.Code = w.Codes[0]
	}
	code, desc := aadsts.Parse(w.Description)
	if e.Code == 0 {
		e.Code = code
	}
	e.Description = desc
	return e
}

// classify turns a failed acquisition into the library's error: what the
// capture saw (a refused redirect, an unreachable platform, an error
// answer), else a generic failure without MSAL's text.
func classify(account m365link.Account, capt *captured, cause error) error {
	ee, err := capt.failure(account)
	switch {
	case err != nil:
		return err
	case ee != nil:
		return classifyAnswer(account, ee)
	}
	return fmt.Errorf("tokens: acquire token for %s: %w", account, redact(cause))
}

// classifyAnswer turns an error answer into a [m365link.ReconnectError]
// when only the user (or an admin) can fix it, [ErrClientCredentials] for
// a refused app credential, otherwise the answer itself (transient ones
// match [m365link.ErrUnavailable]).
func classifyAnswer(account m365link.Account, ee *EndpointError) error {
	reason, reconnect := reasonFor(account, ee)
	if reconnect {
		return &m365link.ReconnectError{Account: account, Reason: reason, Code: aadstsCode(ee.Code), Description: ee.Description}
	}
	if ee.Err == "invalid_client" || ee.Code == 7000215 || ee.Code == 7000222 || ee.Code == 700027 {
		return &credentialError{ee: ee}
	}
	return ee
}

func aadstsCode(code int) string {
	if code == 0 {
		return ""
	}
	return "AADSTS" + strconv.Itoa(code)
}

func reasonFor(account m365link.Account, ee *EndpointError) (m365link.ReconnectReason, bool) {
	switch ee.Code {
	case 50173, 50132: // grant or session revoked
		return m365link.ReasonRevoked, true
	case 70008, 700082, 700084:
		return m365link.ReasonExpired, true
	case 50133, 50055, 50144:
		return m365link.ReasonPasswordChanged, true
	case 50057, 50034, 500014:
		return m365link.ReasonUserDisabled, true
	case 65001, 65004, 700016, 7000112:
		return m365link.ReasonConsentWithdrawn, true
	case 50076, 50079, 53003, 50158, 70043, 50097:
		return m365link.ReasonInteractionRequired, true
	}
	switch ee.Err {
	case "interaction_required", "consent_required", "login_required":
		return m365link.ReasonInteractionRequired, true
	case "invalid_grant":
		return m365link.ReasonUnknown, true
	case "unauthorized_client":
		if account.AppOnly() {
			return m365link.ReasonConsentWithdrawn, true
		}
	}
	return "", false
}

// redact keeps MSAL's own error text out of ours: its messages can embed
// whole HTTP exchanges.
func redact(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errors.New("identity platform request failed")
}
