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
//
// A mailbox's entry lives only while it matters: one with no request in
// flight or waiting, no throttle in force and its whole budget back is
// the same as a new one, and is dropped (at most every sweepEvery), so a
// process that has talked to 10,000 mailboxes does not keep 10,000 entries.
type Limiter struct {
	limits Limits
	clock  clock

	mu        gosync.Mutex
	boxes     map[string]*mailboxLimit
	lastSweep time.Time
}

// sweepEvery is how often the limiter drops the entries of idle mailboxes.
const sweepEvery = time.Minute

type mailboxLimit struct {
	sem  *semaphore.Weighted
	rate *rate.Limiter
	// users counts the Acquire calls waiting for or holding the entry's
	// slots; guarded by Limiter.mu. An entry in use is never dropped.
	users int

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

// box returns mailbox's entry, made if need be; with use, it also counts
// the caller as a user until it calls l.done(b).
func (l *Limiter) box(mailbox string, use bool) *mailboxLimit {
	mailbox = strings.ToLower(mailbox)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	b := l.boxes[mailbox]
	if b == nil {
		perSec := float64(l.limits.Requests-l.limits.Burst) / l.limits.Window.Seconds()
		b = &mailboxLimit{
			sem:  semaphore.NewWeighted(int64(l.limits.Concurrency)),
			rate: rate.NewLimiter(rate.Limit(perSec), l.limits.Burst),
		}
		l.boxes[mailbox] = b
	}
	if use {
		b.users++
	}
	return b
}

func (l *Limiter) done(b *mailboxLimit) {
	l.mu.Lock()
	b.users--
	l.mu.Unlock()
}

// sweep drops the entries a new one would equal: unused, not throttled,
// with the whole burst available again. l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.boxes {
		if b.users == 0 && !b.throttledUntil().After(now) && b.rate.TokensAt(now) >= float64(l.limits.Burst) {
			delete(l.boxes, k)
		}
	}
}

// Mailboxes returns how many mailboxes the limiter holds state for.
func (l *Limiter) Mailboxes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.boxes)
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
	b := l.box(mailbox, true)
	release, err = l.acquire(ctx, b, weight)
	if err != nil {
		l.done(b)
		return nil, err
	}
	return release, nil
}

// acquire is Acquire once the caller counts as a user of b; the release
// it returns ends that use.
func (l *Limiter) acquire(ctx context.Context, b *mailboxLimit, weight int) (release func(), err error) {
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
		return func() {
			once.Do(func() {
				b.sem.Release(int64(weight))
				l.done(b)
			})
		}, nil
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
	b := l.box(mailbox, true) // in use until the throttle is set, so no sweep drops it first
	b.mu.Lock()
	if until.After(b.until) {
		b.until = until
	}
	b.mu.Unlock()
	l.done(b)
}

// ThrottledUntil reports until when mailbox is held, the zero time if it is not.
func (l *Limiter) ThrottledUntil(mailbox string) time.Time {
	l.mu.Lock()
	b := l.boxes[strings.ToLower(mailbox)]
	l.mu.Unlock()
	if b == nil {
		return time.Time{}
	}
	t := b.throttledUntil()
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
