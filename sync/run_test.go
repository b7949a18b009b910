package sync_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/syncsql"
)

// overlapSink notices two engines inside one mailbox at once.
type overlapSink struct {
	*m365sync.MemorySink
	mu       gosync.Mutex
	active   map[string]string // mailbox -> engine inside Apply
	overlaps atomic.Int32
	by       map[string]map[string]bool // engine -> mailboxes it applied
}

type engineSink struct {
	*overlapSink
	name string
}

func (s engineSink) Apply(ctx context.Context, p *m365sync.Page) error {
	k := p.Mailbox.Key()
	s.mu.Lock()
	if other, busy := s.active[k]; busy && other != s.name {
		s.overlaps.Add(1)
	}
	s.active[k] = s.name
	if s.by[s.name] == nil {
		s.by[s.name] = map[string]bool{}
	}
	s.by[s.name][k] = true
	s.mu.Unlock()
	time.Sleep(time.Millisecond) // widen the window an overlap would need
	err := s.MemorySink.Apply(ctx, p)
	s.mu.Lock()
	delete(s.active, k)
	s.mu.Unlock()
	return err
}

func TestTwoEnginesShareMailboxesThroughSQLiteLeases(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 20, MessagesPerMailbox: 30, Vendors: 3, Seed: 9})
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 2 * time.Millisecond, Route: "messages/delta"})
	dbPath := filepath.Join(t.TempDir(), "leases.db")
	shared := &overlapSink{MemorySink: h.sink, active: map[string]string{}, by: map[string]map[string]bool{}}
	run := func(ctx context.Context, name string) error {
		// Each "process" has its own connection pool on the one database file.
		db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		defer db.Close()
		store, err := syncsql.New(db, syncsql.SQLite, "")
		require.NoError(t, err)
		cfg := h.config(engineSink{shared, name}, store)
		cfg.Leases, cfg.Owner = store, name
		cfg.Policy = m365sync.Policy{AllMailboxes: true}
		cfg.Interval, cfg.Workers = 20*time.Millisecond, 4
		return h.engine(t, cfg).Run(ctx)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg gosync.WaitGroup
	for _, name := range []string{"A", "B"} {
		wg.Go(func() { assert.ErrorIs(t, run(ctx, name), context.DeadlineExceeded) })
	}
	wg.Wait()
	assert.Equal(t, int32(0), shared.overlaps.Load(), "no mailbox synced by both engines at once")
	for i := range 20 {
		assert.Equal(t, h.live(i), h.sink.IDs(h.mailbox(i)), h.mailbox(i).UPN)
	}
	assert.NotEmpty(t, shared.by["A"])
	assert.NotEmpty(t, shared.by["B"])
}

func TestRunFollowsThePolicy(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 4, NotMailEnabled: 1, MessagesPerMailbox: 10, Vendors: 2, Seed: 10})
	tenant := h.seed.Tenants[0]
	group := h.fg.AddGroup(tenant.Tenant.ID, fakegraph.Group{DisplayName: "Buyers"}, h.mailbox(0).UserID, h.mailbox(1).UserID)
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{Groups: []string{group.ID}, Users: []string{h.mailbox(3).UPN}, DenyUsers: []string{h.mailbox(1).UPN}}
	cfg.Interval = 10 * time.Millisecond
	e := h.engine(t, cfg)
	got, err := e.Mailboxes(context.Background())
	require.NoError(t, err)
	want := []m365link.Mailbox{h.mailbox(0), h.mailbox(3)}
	for i := range want {
		want[i].DisplayName = h.seed.Mailboxes[map[int]int{0: 0, 1: 3}[i]].User.DisplayName
	}
	assert.ElementsMatch(t, want, got)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	synced := func(i int) func() bool {
		return func() bool { s, _ := e.Status(h.mailbox(i).Key()); return s.State == m365sync.StateIdle }
	}
	require.Eventually(t, synced(0), 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, synced(3), 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, sorted(h.mailbox(0).Key(), h.mailbox(3).Key()), h.sink.Mailboxes())
	assert.Equal(t, h.live(0), h.sink.IDs(h.mailbox(0)))
	assert.Equal(t, h.live(3), h.sink.IDs(h.mailbox(3)))

	// The admin changes the policy: mailbox 0 leaves, mailbox 2 joins.
	e.SetPolicy(m365sync.Policy{Users: []string{h.mailbox(2).UserID, h.mailbox(3).UserID}})
	require.Eventually(t, synced(2), 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { s, _ := e.Status(h.mailbox(0).Key()); return s.State == m365sync.StateRemoved }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, sorted(h.mailbox(2).Key(), h.mailbox(3).Key()), h.sink.Mailboxes(), "the sink was told mailbox 0 left")
	assert.Equal(t, h.live(2), h.sink.IDs(h.mailbox(2)))
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
