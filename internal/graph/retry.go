package graph

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/m365link/m365link"
)

// RetryPolicy bounds retries of throttled (429), unavailable (503, 504) and
// dropped or garbled responses. The zero value means the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; default 6. 1 disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff step without Retry-After; default 500 ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff step without Retry-After; default 30 s.
	MaxDelay time.Duration
	// MaxElapsed caps the time spent on one call including waits; default
	// 2 minutes. A Retry-After that would overrun it ends the call with the
	// throttled error (carrying RetryAfter) for the caller to reschedule.
	MaxElapsed time.Duration
	// MinRetryAfter is the floor applied to Retry-After ("0", a past date,
	// or a fraction rounded up); default 1 s.
	MinRetryAfter time.Duration
	// Backoff computes the wait before attempt n (1-based) when the server
	// gave no Retry-After; default [FullJitter].
	Backoff func(base, max time.Duration, n int) time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	if p.MinRetryAfter <= 0 {
		p.MinRetryAfter = time.Second
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
// prove the server did not act: 429 and 503).
func retryable(err error) (retry, evenIfNotIdempotent bool) {
	var ge *m365link.GraphError
	if errors.As(err, &ge) {
		switch ge.StatusCode {
		case 429, 503:
			return true, true
		case 504:
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
