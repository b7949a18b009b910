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
	"strconv"
	"strings"
	"time"

	"github.com/m365link/m365link"
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
func (e *EndpointError) Error() string {
	s := "tokens: token endpoint: " + strconv.Itoa(e.Status) + " " + e.Err
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
// host's configuration must change.
var ErrClientCredentials = errors.New("tokens: the app's client credential was refused")

type captureKey struct{}

// captured receives the token endpoint's last error answer for one
// acquisition; MSAL's own errors carry the whole exchange, requests with
// secrets included, so the library reads the answer here instead.
type captured struct{ err *EndpointError }

func withCapture(ctx context.Context) (context.Context, *captured) {
	c := &captured{}
	return context.WithValue(ctx, captureKey{}, c), c
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
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		return t.base.RoundTrip(r)
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	var resp *http.Response
	var err error
	for attempt := 1; ; attempt++ {
		rr := r.Clone(r.Context())
		rr.Body = io.NopCloser(bytes.NewReader(body))
		rr.ContentLength = int64(len(body))
		resp, err = t.base.RoundTrip(rr)
		transient := err != nil || resp.StatusCode >= 500 || resp.StatusCode == 429
		if !transient || attempt >= t.attempts || r.Context().Err() != nil {
			break
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
	if err != nil {
		if c, ok := r.Context().Value(captureKey{}).(*captured); ok {
			c.err = &EndpointError{Status: 0, Err: "network", Description: "the token endpoint could not be reached"}
		}
		return nil, err
	}
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if c, ok := r.Context().Value(captureKey{}).(*captured); ok {
			c.err = parseEndpointError(resp.StatusCode, b)
		}
	}
	return resp, nil
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
	d := w.Description
	if i := strings.Index(d, " Trace ID:"); i >= 0 {
		d = d[:i]
	}
	if strings.HasPrefix(d, "AADSTS") {
		if i := strings.Index(d, ": "); i > 0 {
			if e.Code == 0 {
				e.Code, _ = strconv.Atoi(d[len("AADSTS"):i])
			}
			d = d[i+2:]
		}
	}
	e.Description = strings.TrimSpace(d)
	return e
}

// classify turns a failed acquisition into the library's error: a
// [m365link.ReconnectError] when only the user (or an admin) can fix it,
// [ErrClientCredentials] for a refused app credential, otherwise a
// transient error.
func classify(account m365link.Account, ee *EndpointError, cause error) error {
	if ee == nil {
		return fmt.Errorf("tokens: acquire token for %s: %w", account, redact(cause))
	}
	reason, reconnect := reasonFor(account, ee)
	if reconnect {
		return &m365link.ReconnectError{Account: account, Reason: reason, Code: aadsts(ee.Code), Description: ee.Description}
	}
	if ee.Err == "invalid_client" || ee.Code == 7000215 || ee.Code == 7000222 || ee.Code == 700027 {
		return fmt.Errorf("%w: %w", ErrClientCredentials, ee)
	}
	return ee
}

func aadsts(code int) string {
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
