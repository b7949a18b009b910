package graph

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/m365link/m365link"
)

// RetryPolicy bounds retries of throttled (429), unavailable (500, 502, 503,
// 504) and dropped, stalled or garbled responses. The zero value means the
// defaults.
//
// The defaults let a call outlast a run of faults (with one response in ten
// failing, ten attempts in a row fail about once in 10¹⁰ calls) while staying
// well inside MaxElapsed: nine full-jitter backoff steps of at most 250 ms,
// 500 ms, 1 s, 2 s, 4 s, 8 s, 8 s, 8 s and 8 s wait about 20 s on average and
// 39.75 s at worst. Throttling answers wait what Retry-After says instead.
type RetryPolicy struct {
	// MaxAttempts counts the first try; default 10. 1 disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff step without Retry-After; default 250 ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff step without Retry-After; default 8 s.
	MaxDelay time.Duration
	// MaxElapsed caps the time spent on one call including waits; default
	// 2 minutes. A Retry-After that would overrun it ends the call with the
	// throttled error (carrying RetryAfter) for the caller to reschedule.
	MaxElapsed time.Duration
	// MinRetryAfter is the floor applied to Retry-After ("0", a past date,
	// or a fraction rounded up); default 1 s.
	MinRetryAfter time.Duration
	// MaxRetryAfter caps Retry-After, both the wait it imposes on the
	// mailbox and the RetryAfter reported in *[m365link.GraphError]; default
	// 10 minutes. One answer asking for a day would otherwise park a mailbox
	// for a day. A capped value is logged at Warn.
	MaxRetryAfter time.Duration
	// Backoff computes the wait before attempt n (1-based) when the server
	// gave no Retry-After; default [FullJitter].
	Backoff func(base, max time.Duration, n int) time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 8 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	if p.MinRetryAfter <= 0 {
		p.MinRetryAfter = time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 10 * time.Minute
	}
	if p.Backoff == nil {
		p.Backoff = FullJitter
	}
	return p
}

// FullJitter is capped exponential backoff with full jitter: a uniform
// random wait in [0, min(max, base·2^(n-1))]. Spreading retries over the
// whole interval keeps many mailboxes from retrying in lockstep.
func FullJitter(base, max time.Duration, n int) time.Duration {
	ceil := max
	if n < 1 {
		n = 1
	}
	if n <= 32 {
		if d := base << (n - 1); d > 0 && d < max {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// retryable reports whether err may go away by trying again, and whether it
// may be retried for a request that is not idempotent (only answers that
// prove the server did not act: 429 and 503). Other 5xx answers are Graph's
// or a gateway's passing trouble as often as not, so idempotent requests
// retry them too.
func retryable(err error) (retry, evenIfNotIdempotent bool) {
	if errors.Is(err, ErrResponseTooLarge) {
		return false, false // the same request brings the same body
	}
	var ge *m365link.GraphError
	if errors.As(err, &ge) {
		switch ge.StatusCode {
		case 429, 503:
			return true, true
		case 500, 502, 504:
			return true, false
		}
		return false, false
	}
	if errors.Is(err, m365link.ErrMalformedResponse) || errors.Is(err, m365link.ErrUnavailable) {
		return true, false
	}
	return false, false
}

// wait returns how long to wait before retry n (1-based) after err: what
// Retry-After said, floored; otherwise backoff, and never less than the floor
// after a 429 (a "0", a past date and a missing header all land there).
func (p RetryPolicy) wait(err error, n int) time.Duration {
	var ge *m365link.GraphError
	if errors.As(err, &ge) {
		if ge.RetryAfter > 0 {
			return max(ge.RetryAfter, p.MinRetryAfter)
		}
		if ge.StatusCode == 429 {
			return max(p.Backoff(p.BaseDelay, p.MaxDelay, n), p.MinRetryAfter)
		}
	}
	return p.Backoff(p.BaseDelay, p.MaxDelay, n)
}

// capRetryAfter applies MaxRetryAfter to a Retry-After from Graph and logs
// when it had to. path must carry no query.
func (c *Client) capRetryAfter(ctx context.Context, d time.Duration, mailbox, method, path string) time.Duration {
	if d <= c.retry.MaxRetryAfter {
		return d
	}
	c.log.LogAttrs(ctx, slog.LevelWarn, "graph: Retry-After capped",
		slog.String("mailbox", mailbox), slog.String("method", method), slog.String("path", path),
		slog.Duration("retryAfter", d), slog.Duration("cap", c.retry.MaxRetryAfter))
	return c.retry.MaxRetryAfter
}
