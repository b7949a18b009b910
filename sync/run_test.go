package sync_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
)

// byEngine notes which engine applied pages of which mailbox.
type byEngine struct {
	m365sync.Sink
	name string
	mu   *gosync.Mutex
	seen map[string]map[string]bool // engine -> mailbox keys
}

func (s byEngine) Apply(ctx context.Context, p *m365sync.Page) error {
	s.mu.Lock()
	if s.seen[s.name] == nil {
		s.seen[s.name] = map[string]bool{}
	}
	s.seen[s.name][p.Mailbox.Key()] = true
	s.mu.Unlock()
	return s.Sink.Apply(ctx, p)
}

// Two worker processes (engines with their own connection pools) share 20
// mailboxes through leases in one database — SQLite always, PostgreSQL
// when M365LINK_TEST_POSTGRES holds a DSN: the sink never sees two calls
// for one mailbox at once, both engines do work (each soon owns its
// share), and the sink ends exact, also after changes made while they run.
func TestTwoEnginesShareMailboxesThroughSQLLeases(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "sync.db")
		twoEngines(t, func(t *testing.T) *sqlstore.Store {
			db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			store, err := sqlstore.New(db, sqlstore.SQLite, nil)
			require.NoError(t, err)
			return store
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("M365LINK_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "sync_test_" + hex.EncodeToString(b[:])
		twoEngines(t, func(t *testing.T) *sqlstore.Store {
			db, err := sql.Open("pgx", dsn)
			require.NoError(t, err)
			t.Cleanup(func() {
				for _, table := range []string{"tokens", "sync_state", "sync_leases", "sync_workers", "consent_states", "migrations"} {
					_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_" + table)
				}
				db.Close()
			})
			store, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Prefix: prefix})
			require.NoError(t, err)
			return store
		})
	})
}

func twoEngines(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
	const n = 20
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 30, Vendors: 3, Seed: 9})
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: time.Millisecond, Route: "messages/delta"})
	var mu gosync.Mutex
	seen := map[string]map[string]bool{}   // engine -> mailboxes it applied pages of
	passed := map[string]map[string]bool{} // engine -> mailboxes it ran passes over
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg gosync.WaitGroup
	for _, name := range []string{"A", "B"} {
		store := open(t)
		cfg := h.config(byEngine{Sink: h.sink, name: name, mu: &mu, seen: seen}, store.SyncState())
		cfg.Leases, cfg.Schedule.Owner = store.Leases(), name
		cfg.Policy = m365sync.Policy{AllMailboxes: true}
		cfg.Schedule.Interval, cfg.Schedule.Workers = 20*time.Millisecond, 4
		cfg.OnPass = func(ctx context.Context, mb m365link.Mailbox) (context.Context, func(m365sync.PassResult)) {
			return ctx, func(r m365sync.PassResult) {
				if r.State == "" {
					return // no pass ran: another engine holds the lease
				}
				mu.Lock()
				defer mu.Unlock()
				if passed[name] == nil {
					passed[name] = map[string]bool{}
				}
				passed[name][mb.Key()] = true
			}
		}
		// A balancer beat of a second: the engine that starts second
		// gets its share within a few.
		e := h.engine(t, m365sync.WithTestLeaseTTL(cfg, 15*time.Second))
		wg.Go(func() { assert.ErrorIs(t, e.Run(ctx), context.Canceled) })
	}
	mirrored := func() bool {
		for i := range n {
			if !assert.ObjectsAreEqual(h.liveFolders(t, i), h.sink.Folders(h.mailbox(i))) {
				return false
			}
		}
		return true
	}
	require.Eventually(t, mirrored, 30*time.Second, 20*time.Millisecond)
	both := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(passed["A"]) > 0 && len(passed["B"]) > 0
	}
	require.Eventually(t, both, 30*time.Second, 20*time.Millisecond, "both engines own mailboxes")
	for i := range n {
		h.add(i, "inbox", fakegraph.Message{Subject: "while running"})
		h.fg.DeleteMessage(h.mailbox(i).UserID, h.seed.Mailboxes[i].Inbox[0])
	}
	require.Eventually(t, mirrored, 30*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // more passes contending for the leases
	cancel()
	wg.Wait()
	for i := range n {
		h.assertMirror(t, i)
	}
	assert.Zero(t, h.sink.overlapCount(), "no mailbox synced by both engines at once")
	mu.Lock()
	defer mu.Unlock()
	assert.NotEmpty(t, seen["A"], "engine A delivered pages")
	assert.NotEmpty(t, seen["B"], "engine B delivered pages")
}

func TestRunFollowsThePolicy(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 4, NotMailEnabled: 1, MessagesPerMailbox: 10, Vendors: 2, Seed: 10})
	tenant := h.seed.Tenants[0]
	group := h.fg.AddGroup(tenant.Tenant.ID, fakegraph.Group{DisplayName: "Buyers"}, h.mailbox(0).UserID, h.mailbox(1).UserID)
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{Groups: []string{group.ID, "deleted-group"}, Users: []string{h.mailbox(3).UPN, "gone@contoso.com"}, DenyUsers: []string{h.mailbox(1).UPN}}
	cfg.Schedule.Interval = 10 * time.Millisecond
	e := h.engine(t, cfg)
	got, err := e.Mailboxes(context.Background())
	require.NoError(t, err)
	want := []m365link.Mailbox{h.mailbox(0), h.mailbox(3)}
	want[0].DisplayName, want[1].DisplayName = h.seed.Mailboxes[0].User.DisplayName, h.seed.Mailboxes[3].User.DisplayName
	assert.Equal(t, want, got, "stale entries skipped, deny wins")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	state := func(i int, s m365sync.State) func() bool {
		return func() bool { st, _ := e.Status(h.mailbox(i).Key()); return st.State == s }
	}
	require.Eventually(t, state(0, m365sync.StateIdle), 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, state(3, m365sync.StateIdle), 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, sorted(h.mailbox(0).Key(), h.mailbox(3).Key()), h.sink.Mailboxes())
	h.assertMirror(t, 0)
	h.assertMirror(t, 3)
	assert.ErrorIs(t, e.Run(ctx), m365sync.ErrRunning)

	// The admin changes the policy: mailbox 0 leaves, mailbox 2 joins.
	e.SetPolicy(m365sync.Policy{Users: []string{h.mailbox(2).UserID, h.mailbox(3).UserID}})
	require.Eventually(t, state(2, m365sync.StateIdle), 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, state(0, m365sync.StateRemoved), 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, sorted(h.mailbox(2).Key(), h.mailbox(3).Key()), h.sink.Mailboxes(), "the sink was told mailbox 0 left")
	h.assertMirror(t, 2)
	left, err := h.state.ListMailboxes(context.Background())
	require.NoError(t, err)
	assert.Equal(t, sorted(h.mailbox(2).Key(), h.mailbox(3).Key()), left, "its state is gone")
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// A mailbox dropped while its pass runs stops at once and is removed.
func TestPolicyChangeStopsARunningPass(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 200, Vendors: 2, Seed: 15})
	mb := h.mailbox(0)
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 200 * time.Millisecond, Route: "messages/delta"})
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{Users: []string{mb.UserID}}
	started := make(chan struct{})
	var once gosync.Once
	cfg.OnProgress = func(s m365sync.Status) {
		if s.State == m365sync.StateInitial {
			once.Do(func() { close(started) })
		}
	}
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	<-started
	t0 := time.Now()
	e.SetPolicy(m365sync.Policy{})
	require.Eventually(t, func() bool { st, _ := e.Status(mb.Key()); return st.State == m365sync.StateRemoved }, 5*time.Second, 5*time.Millisecond)
	assert.Less(t, time.Since(t0), 2*time.Second, "the pass was cancelled, not waited out")
	assert.Empty(t, h.sink.Mailboxes())
	mb.DisplayName = h.seed.Mailboxes[0].User.DisplayName // as the policy read it
	assert.Equal(t, []m365link.Mailbox{mb}, h.sink.removed)
	cancel()
	<-done
}

// A mailbox the policy dropped while no engine ran is removed when the
// next one starts, found through the state store.
func TestRunRemovesMailboxesDroppedWhileDown(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 3, MessagesPerMailbox: 10, Vendors: 2, Seed: 16})
	for i := range 3 {
		require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(context.Background(), h.mailbox(i)))
	}
	// Another tenant's mailbox in the same store is not this engine's business.
	other := m365link.Mailbox{TenantID: "other-tenant", UserID: "someone"}
	require.NoError(t, h.state.Save(context.Background(), other.Key(), "", []byte(`{"v":2,"mailbox":{"tenantId":"other-tenant","userId":"someone"},"state":"idle"}`)))

	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{Users: []string{h.mailbox(0).UserID, h.mailbox(2).UserID}}
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { st, _ := e.Status(h.mailbox(1).Key()); return st.State == m365sync.StateRemoved }, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
	assert.Equal(t, sorted(h.mailbox(0).Key(), h.mailbox(2).Key()), h.sink.Mailboxes())
	assert.Equal(t, []m365link.Mailbox{h.mailbox(1)}, h.sink.removed, "with the UPN its last status had")
	left, _ := h.state.ListMailboxes(context.Background())
	assert.Equal(t, sorted(h.mailbox(0).Key(), h.mailbox(2).Key(), other.Key()), left)
}

// Trigger runs a pass now, e.g. after a change notification.
func TestTrigger(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 2, MessagesPerMailbox: 10, Vendors: 2, Seed: 17})
	cfg := h.config(nil, nil)
	cfg.Policy = m365sync.Policy{AllMailboxes: true}
	cfg.Schedule.Interval = time.Hour
	e := h.engine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { return len(h.sink.IDs(h.mailbox(1))) > 0 && len(h.sink.IDs(h.mailbox(0))) > 0 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		st := e.Statuses()
		return len(st) == 2 && st[0].State == m365sync.StateIdle && st[1].State == m365sync.StateIdle
	}, 5*time.Second, 5*time.Millisecond)
	id := h.add(1, "inbox", fakegraph.Message{Subject: "notified"})
	e.Trigger(m365link.Mailbox{UserID: h.mailbox(1).UserID})
	require.Eventually(t, func() bool { _, _, ok := h.sink.Message(h.mailbox(1), id); return ok }, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
