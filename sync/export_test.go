package sync

import (
	"context"
	"log/slog"
	"time"
)

// Test hooks: the engine's records are opaque to hosts, but the package's
// own tests look inside them.

// TestCursor is a folder's cursor as the engine keeps it.
type TestCursor = cursor

func stateEngine(st StateStore) *Engine {
	return &Engine{cfg: Config{State: st}, log: slog.New(slog.DiscardHandler)}
}

// LoadCursorForTest reads a folder's cursor from st.
func LoadCursorForTest(ctx context.Context, st StateStore, mailbox, folder string) (TestCursor, error) {
	return stateEngine(st).loadCursor(ctx, mailbox, folder)
}

// SaveCursorForTest writes a folder's cursor to st.
func SaveCursorForTest(ctx context.Context, st StateStore, mailbox, folder string, c TestCursor) error {
	return stateEngine(st).saveCursor(ctx, mailbox, folder, c)
}

// WithTestPaging sets the page size asked of Graph and where the fake
// stops a filtered delta (0 leaves a value as it is).
func WithTestPaging(cfg Config, pageSize, filteredDeltaCap int) Config {
	if pageSize != 0 {
		cfg.pageSize = pageSize
	}
	if filteredDeltaCap != 0 {
		cfg.filteredDeltaCap = filteredDeltaCap
	}
	return cfg
}

// WithTestClock sets the clock the calendar window is read from.
func WithTestClock(cfg Config, now func() time.Time) Config {
	cfg.now = now
	return cfg
}

// WithTestLeaseTTL sets a LeaseTTL, below the 30 s minimum if need be,
// so that a takeover test waits seconds rather than half a minute.
func WithTestLeaseTTL(cfg Config, ttl time.Duration) Config {
	cfg.Schedule.LeaseTTL, cfg.shortLeases = ttl, true
	return cfg
}

// BalanceTimesForTest are the balancer's beat, heartbeat lifetime and
// renewal period for a lease TTL.
func BalanceTimesForTest(ttl time.Duration) (beat, live, renew time.Duration) {
	return balanceTimes(ttl)
}

// SchedulerTimeForTest is the time Run spent deciding what runs next.
func SchedulerTimeForTest(e *Engine) time.Duration {
	return time.Duration(e.schedNanos.Load())
}

// QueuedForTest is how many mailboxes wait in Run's queues.
func QueuedForTest(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, q := range e.sched.queues {
		n += len(q)
	}
	return n
}

// LocksForTest is how many mailbox locks the engine holds.
func LocksForTest(e *Engine) int {
	e.locksMu.Lock()
	defer e.locksMu.Unlock()
	return len(e.locks)
}
