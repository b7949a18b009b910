package sync_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
)

// passOrder numbers the starts and ends of every mailbox's passes on one
// sequence.
type passOrder struct {
	seq    atomic.Int64
	mu     gosync.Mutex
	starts map[string][]int64
	ends   map[string][]int64
}

func newPassOrder() *passOrder {
	return &passOrder{starts: map[string][]int64{}, ends: map[string][]int64{}}
}

func (o *passOrder) onPass(ctx context.Context, mb m365link.Mailbox) (context.Context, func(m365sync.PassResult)) {
	o.mu.Lock()
	o.starts[mb.UserID] = append(o.starts[mb.UserID], o.seq.Add(1))
	o.mu.Unlock()
	return ctx, func(m365sync.PassResult) {
		o.mu.Lock()
		o.ends[mb.UserID] = append(o.ends[mb.UserID], o.seq.Add(1))
		o.mu.Unlock()
	}
}

func (o *passOrder) count(f func(starts, ends map[string][]int64) bool) func() bool {
	return func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return f(o.starts, o.ends)
	}
}

// A new tenant's mailboxes each get their first pass before any gets its
// third, however short the Interval: first passes outrank incremental
// ones, and a mailbox's third waits while a first runs.
func TestEveryFirstPassBeforeAnyThird(t *testing.T) {
	const n = 300
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 2, Vendors: 2, Seed: 51})
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{AllMailboxes: true}
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Schedule.Interval = time.Millisecond
	order := newPassOrder()
	cfg.OnPass = order.onPass
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, order.count(func(starts, _ map[string][]int64) bool {
		if len(starts) < n {
			return false
		}
		for _, s := range starts {
			if len(s) < 3 {
				return false
			}
		}
		return true
	}), 60*time.Second, 10*time.Millisecond, "every mailbox gets a third pass")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	lastFirstEnd, firstThirdStart := int64(0), int64(1<<62)
	for u, ends := range order.ends {
		lastFirstEnd = max(lastFirstEnd, ends[0])
		firstThirdStart = min(firstThirdStart, order.starts[u][2])
	}
	assert.Len(t, order.ends, n)
	assert.Less(t, lastFirstEnd, firstThirdStart, "the last first pass ended before the first third pass started")
}

// A Trigger during a pass makes exactly one more pass, however many came.
func TestTriggersDuringAPassMakeOneMore(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 4, Vendors: 2, Seed: 52})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{Users: []string{mb.UserID}}
	cfg.Schedule.Interval = time.Hour
	order := newPassOrder()
	cfg.OnPass = order.onPass
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	passes := func(starts, ends int) func() bool {
		return order.count(func(s, en map[string][]int64) bool { return len(s[mb.UserID]) == starts && len(en[mb.UserID]) == ends })
	}
	require.Eventually(t, passes(1, 1), 5*time.Second, time.Millisecond)
	remove := h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 100 * time.Millisecond, Route: "messages/delta"})
	e.Trigger(mb)
	require.Eventually(t, passes(2, 0+1), 5*time.Second, time.Millisecond, "the trigger started a pass")
	for range 5 {
		e.Trigger(mb)
	}
	remove()
	require.Eventually(t, passes(3, 3), 5*time.Second, time.Millisecond, "one more pass")
	time.Sleep(200 * time.Millisecond)
	assert.True(t, passes(3, 3)(), "and no other")
	cancel()
	<-done
}

// A mailbox whose lease another worker holds is asked for again within
// seconds, not an Interval: it is taken over soon after that lease ends.
func TestRefusedLeaseIsRetriedSoon(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 4, Vendors: 2, Seed: 53})
	mb := h.mailbox(0)
	leases := &m365sync.MemoryLeases{}
	ok, err := leases.Acquire(context.Background(), mb.Key(), "another worker", time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{Users: []string{mb.UserID}}
	cfg.Leases, cfg.Schedule.Interval, cfg.Schedule.LeaseTTL = leases, time.Hour, 30*time.Second
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	t0 := time.Now()
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { st, _ := e.Status(mb.Key()); return st.State == m365sync.StateIdle }, 10*time.Second, 5*time.Millisecond)
	took := time.Since(t0)
	assert.Greater(t, took, time.Second, "not while the other worker held it")
	assert.Less(t, took, 7*time.Second, "within the lease's end and a few seconds")
	h.assertMirror(t, 0)
	cancel()
	<-done
}

// What Run keeps of a mailbox goes with it: after a mailbox left the
// policy its removed status is shown until the policy is read again, then
// forgotten; no mailbox lock outlives its pass; an idle mailbox's status
// keeps no folder list (LoadStatus has it).
func TestRunForgetsWhatItNoLongerNeeds(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 3, MessagesPerMailbox: 4, Vendors: 2, Seed: 54})
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{AllMailboxes: true}
	cfg.Schedule.Interval = time.Hour
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	allIdle := func() bool {
		st := e.Statuses()
		return len(st) == 3 && st[0].State == m365sync.StateIdle && st[1].State == m365sync.StateIdle && st[2].State == m365sync.StateIdle
	}
	require.Eventually(t, allIdle, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return m365sync.QueuedForTest(e) == 3 }, 5*time.Second, time.Millisecond)
	assert.Zero(t, m365sync.LocksForTest(e))
	st, _ := e.Status(h.mailbox(0).Key())
	assert.Nil(t, st.Folders)
	saved, err := e.LoadStatus(context.Background(), h.mailbox(0).Key())
	require.NoError(t, err)
	assert.Equal(t, []string{h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")}, saved.Folders)

	e.SetPolicy(m365sync.Policy{Users: []string{h.mailbox(2).UserID}})
	removed := func(i int) bool { st, _ := e.Status(h.mailbox(i).Key()); return st.State == m365sync.StateRemoved }
	require.Eventually(t, func() bool { return removed(0) && removed(1) }, 5*time.Second, time.Millisecond)
	e.SetPolicy(m365sync.Policy{Users: []string{h.mailbox(2).UserID}}) // read again
	require.Eventually(t, func() bool { return len(e.Statuses()) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, h.mailbox(2).Key(), e.Statuses()[0].Mailbox.Key())
	assert.Equal(t, 1, m365sync.QueuedForTest(e))
	assert.Zero(t, m365sync.LocksForTest(e))
	cancel()
	<-done
}

// logLines is a logger writing text lines without times to w.
func logLines(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// A mailbox's state is logged when it changes, not every pass: a failure
// at Warn the first time and at Debug while it repeats, a recovery at Info.
func TestStateChangesAreLoggedOncePerChange(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 4, Vendors: 2, Seed: 55})
	mb := h.mailbox(0)
	var failing atomic.Bool
	cfg := h.config(nil, nil)
	cfg.Tokens = func(m365link.Mailbox) m365sync.TokenSource {
		if failing.Load() {
			return failingToken{errors.New("token service down")}
		}
		return staticToken{}
	}
	var buf bytes.Buffer
	cfg.Logger = logLines(&buf, slog.LevelDebug)
	e := h.engine(t, cfg)
	ctx := context.Background()
	for range 3 {
		require.NoError(t, e.SyncOnce(ctx, mb))
	}
	failing.Store(true)
	for range 2 {
		require.Error(t, e.SyncOnce(ctx, mb))
	}
	failing.Store(false)
	backingOff := 0 // passes the failed folders sat out
	for e.SyncOnce(ctx, mb) != nil {
		backingOff++
		require.Less(t, backingOff, 3)
	}
	require.NoError(t, e.SyncOnce(ctx, mb))
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if i := strings.Index(l, " mailbox."); i > 0 && (strings.Contains(l, "state changed") || strings.Contains(l, "pass failed")) {
			got = append(got, l[:i]+l[strings.Index(l, " was="):])
		}
	}
	want := []string{
		`level=INFO msg="sync: mailbox state changed" was=new state=idle`,
		`level=WARN msg="sync: pass failed" was=idle state=error`,
		`level=DEBUG msg="sync: pass failed" was=error state=error`,
	}
	for range backingOff {
		want = append(want, `level=DEBUG msg="sync: pass failed" was=error state=error`)
	}
	want = append(want, `level=INFO msg="sync: mailbox state changed" was=error state=idle`)
	assert.Equal(t, want, got)
}

// Run logs a summary every SummaryInterval, and Summary says the same.
func TestRunSummarizes(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 3, MessagesPerMailbox: 4, Vendors: 2, Seed: 56})
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{AllMailboxes: true}
	cfg.Schedule.Interval, cfg.Schedule.SummaryInterval = time.Hour, 20*time.Millisecond
	var mu gosync.Mutex
	var buf bytes.Buffer
	cfg.Logger = logLines(&lockedBuffer{mu: &mu, b: &buf}, slog.LevelInfo)
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(buf.String(), `msg="sync: summary" mailboxes=3 states="idle=3" running=0 removing=0`)
	}, 5*time.Second, 5*time.Millisecond)
	s := e.Summary()
	cancel()
	<-done
	assert.Equal(t, 3, s.Mailboxes)
	assert.Equal(t, map[m365sync.State]int{m365sync.StateIdle: 3}, s.States)
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{s.Unseen, s.Running, s.Removing})
	assert.Equal(t, int64(3), s.Passes)
	assert.Equal(t, e.Counters(), s.Counters)
	assert.Positive(t, s.LagP50)
	assert.LessOrEqual(t, s.LagP50, s.LagP99)
	assert.LessOrEqual(t, s.LagP99, s.LagMax)
}

// lockedBuffer is a buffer a logger writes to while a test reads it.
type lockedBuffer struct {
	mu *gosync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Run's database use is bounded by Workers × FolderConcurrency calls at
// once, and a smaller pool only makes them wait: 64 of them (32 workers ×
// 2 folders) on a pool of 10 connections sync every mailbox without one
// in error. On SQLite always, on PostgreSQL when M365LINK_TEST_POSTGRES
// holds a DSN.
func TestManyWorkersOnASmallPool(t *testing.T) {
	open := func(t *testing.T, driver, dsn string, d sqlstore.Dialect, opts *sqlstore.Options) *sqlstore.Store {
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		db.SetMaxOpenConns(10)
		db.SetMaxIdleConns(10)
		t.Cleanup(func() { db.Close() })
		store, err := sqlstore.New(db, d, opts)
		require.NoError(t, err)
		return store
	}
	t.Run("sqlite", func(t *testing.T) {
		dsn := "file:" + filepath.Join(t.TempDir(), "sync.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
		manyWorkersOnAPool(t, open(t, "sqlite", dsn, sqlstore.SQLite, nil))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("M365LINK_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "sync_pool_" + hex.EncodeToString(b[:])
		store := open(t, "pgx", dsn, sqlstore.Postgres, &sqlstore.Options{Prefix: prefix})
		t.Cleanup(func() {
			db, err := sql.Open("pgx", dsn)
			require.NoError(t, err)
			defer db.Close()
			for _, table := range []string{"tokens", "sync_state", "sync_leases", "sync_workers", "consent_states", "migrations"} {
				_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_" + table)
			}
		})
		manyWorkersOnAPool(t, store)
	})
}

func manyWorkersOnAPool(t *testing.T, store *sqlstore.Store) {
	n := 64
	if raceDetector {
		n = 32
	}
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 6, Vendors: 2, Seed: 57})
	cfg := h.config(nil, store.SyncState())
	cfg.Leases, cfg.Policy = store.Leases(), m365sync.Policy{AllMailboxes: true}
	cfg.Schedule.Workers, cfg.Schedule.FolderConcurrency, cfg.Schedule.Interval = 32, 2, time.Hour
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { return e.Summary().States[m365sync.StateIdle] == n }, 60*time.Second, 10*time.Millisecond,
		"every mailbox idle")
	s := e.Summary()
	cancel()
	<-done
	assert.Equal(t, map[m365sync.State]int{m365sync.StateIdle: n}, s.States, "none in error")
	for i := range n {
		h.assertMirror(t, i)
	}
}
