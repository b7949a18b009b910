package graph

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/m365link/m365link"
)

// maxErrorBody bounds how much of an error response is read: Graph error
// bodies are small, and a misbehaving proxy must not make us buffer megabytes.
const maxErrorBody = 64 << 10

// maxRetryAfter clamps absurd Retry-After values so arithmetic cannot overflow.
const maxRetryAfter = 24 * time.Hour

// wireError is Graph's error envelope.
type wireError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code            string `json:"code"`
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// CheckResponse returns nil for a 2xx response and otherwise a
// *[m365link.GraphError] holding the status, Graph's error code, inner code
// and message (from which it classifies itself for errors.Is), with the request IDs, date and parsed Retry-After. It reads (at
// most 64 KiB of) the body and closes it. now is the local clock, used only
// when Retry-After is an HTTP date and the response has no Date header.
func CheckResponse(resp *http.Response, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()

	ge := &m365link.GraphError{
		StatusCode:      resp.StatusCode,
		RequestID:       resp.Header.Get("request-id"),
		ClientRequestID: resp.Header.Get("client-request-id"),
	}
	if resp.Request != nil {
		ge.Method = resp.Request.Method
		if resp.Request.URL != nil {
			ge.Path = resp.Request.URL.EscapedPath()
		}
	}
	var we wireError
	if json.Unmarshal(body, &we) == nil {
		ge.Code = we.Error.Code
		ge.Message = we.Error.Message
		if in := we.Error.InnerError; in != nil {
			ge.InnerCode = in.Code
			if ge.RequestID == "" {
				ge.RequestID = in.RequestID
			}
			if ge.ClientRequestID == "" {
				ge.ClientRequestID = in.ClientRequestID
			}
			ge.Date = parseGraphTime(in.Date)
		}
	}
	if ge.Message == "" && ge.Code == "" {
		ge.Message = http.StatusText(resp.StatusCode)
	}
	serverNow := now
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		serverNow = d
		if ge.Date.IsZero() {
			ge.Date = d
		}
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), serverNow); ok {
		ge.RetryAfter = d
	}
	return ge
}

// ParseRetryAfter parses a Retry-After header value: delay-seconds, which
// Microsoft sends as integers and in its own samples as decimals ("2.128"),
// or an HTTP date, which is taken relative to now (the response's Date header
// when there is one, so clock skew does not matter). Fractional seconds round
// up: truncating 0.5 s to an immediate retry only earns another 429. It
// reports false for an empty, unparsable or negative value; a date in the
// past gives 0 and true. Values beyond a day are clamped to a day.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if c := v[0]; c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-' {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, false
		}
		if f >= maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(math.Ceil(f)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return 0, true
	case d > maxRetryAfter:
		return maxRetryAfter, true
	}
	// Round up to whole seconds: HTTP dates have second resolution.
	return (d + time.Second - 1).Truncate(time.Second), true
}
