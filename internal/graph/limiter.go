package graph

import (
	"context"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Limits paces requests per mailbox to stay inside Outlook's documented
// limits: 4 concurrent requests and 10,000 requests per 10 minutes per app
// and mailbox (GRAPH.md, Throttling). The zero value means the defaults.
type Limits struct {
	// Concurrency is the most requests in flight for one mailbox; default 4.
	Concurrency int
	// Requests per Window for one mailbox; default 9,500 per 10 minutes, a
	// margin below Outlook's 10,000 that leaves room for other apps' clocks.
	Requests int
	Window   time.Duration
	// Burst is how many requests may go back to back before the rate applies;
	// default 500. Requests-Burst are spread over the window, so no window
	// sees more than Requests.
	Burst int
}

func (l Limits) withDefaults() Limits {
	if l.Concurrency <= 0 {
		l.Concurrency = 4
	}
	if l.Requests <= 0 {
		l.Requests = 9500
	}
	if l.Window <= 0 {
		l.Window = 10 * time.Minute
	}
	if l.Burst <= 0 {
		l.Burst = 500
	}
	if l.Burst >= l.Requests {
		l.Burst = l.Requests / 2
		if l.Burst < 1 {
			l.Burst = 1
		}
	}
	return l
}

// Limiter holds the per-mailbox pacing state shared by every package that
// talks to Graph through one [Client]: when one caller is throttled for a
// mailbox, every caller for that mailbox waits. It is safe for concurrent use.
type Limiter struct {
	limits Limits
	clock  clock

	mu    gosync.Mutex
	boxes map[string]*mailboxLimit
}

type mailboxLimit struct {
	sem  *semaphore.Weighted
	rate *rate.Limiter

	mu    gosync.Mutex
	until time.Time // throttled until
}

// NewLimiter returns a limiter with the given limits (zero fields take defaults).
func NewLimiter(l Limits) *Limiter {
	return newLimiter(l, realClock{})
}

func newLimiter(l Limits, c clock) *Limiter {
	return &Limiter{limits: l.withDefaults(), clock: c, boxes: make(map[string]*mailboxLimit)}
}

// Limits returns the effective limits.
func (l *Limiter) Limits() Limits { return l.limits }

func (l *Limiter) box(mailbox string) *mailboxLimit {
	mailbox = strings.ToLower(mailbox)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.boxes[mailbox]
	if b == nil {
		perSec := float64(l.limits.Requests-l.limits.Burst) / l.limits.Window.Seconds()
		b = &mailboxLimit{
			sem:  semaphore.NewWeighted(int64(l.limits.Concurrency)),
			rate: rate.NewLimiter(rate.Limit(perSec), l.limits.Burst),
		}
		l.boxes[mailbox] = b
	}
	return b
}

// Acquire waits until mailbox may send a request of the given weight (a
// $batch to one mailbox weighs up to 4: Outlook runs its items in parallel),
// honouring any throttle in force, the rate budget and the concurrency bound.
// The caller must call release exactly once when the response is done.
func (l *Limiter) Acquire(ctx context.Context, mailbox string, weight int) (release func(), err error) {
	if weight < 1 {
		weight = 1
	}
	if weight > l.limits.Concurrency {
		weight = l.limits.Concurrency
	}
	b := l.box(mailbox)
	if err := l.waitThrottle(ctx, b); err != nil {
		return nil, err
	}
	now := l.clock.Now()
	r := b.rate.ReserveN(now, weight)
	if d := r.DelayFrom(now); d > 0 {
		if err := l.clock.Sleep(ctx, d); err != nil {
			r.CancelAt(l.clock.Now())
			return nil, err
		}
	}
	for {
		if err := b.sem.Acquire(ctx, int64(weight)); err != nil {
			return nil, err
		}
		// A throttle may have started while we queued for a slot.
		if b.throttledUntil().After(l.clock.Now()) {
			b.sem.Release(int64(weight))
			if err := l.waitThrottle(ctx, b); err != nil {
				return nil, err
			}
			continue
		}
		var once gosync.Once
		return func() { once.Do(func() { b.sem.Release(int64(weight)) }) }, nil
	}
}

func (l *Limiter) waitThrottle(ctx context.Context, b *mailboxLimit) error {
	for {
		d := b.throttledUntil().Sub(l.clock.Now())
		if d <= 0 {
			return nil
		}
		if err := l.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

func (b *mailboxLimit) throttledUntil() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.until
}

// Throttle holds every request for mailbox until the given time (it only
// ever extends a throttle already in force).
func (l *Limiter) Throttle(mailbox string, until time.Time) {
	b := l.box(mailbox)
	b.mu.Lock()
	if until.After(b.until) {
		b.until = until
	}
	b.mu.Unlock()
}

// ThrottledUntil reports until when mailbox is held, the zero time if it is not.
func (l *Limiter) ThrottledUntil(mailbox string) time.Time {
	t := l.box(mailbox).throttledUntil()
	if !t.After(l.clock.Now()) {
		return time.Time{}
	}
	return t
}

// clock is the time source; tests swap it to avoid sleeping.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
