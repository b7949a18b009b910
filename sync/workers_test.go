package sync_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
)

// TestWorkerProcessesShareMailboxes runs the sync engine as a host runs
// it on many machines: worker processes (this test binary again, see
// TestSyncWorkerProcess), each with Run over the same policy of 60
// mailboxes, state, leases and a sink in one PostgreSQL, against a fake
// Graph in this process that changes mail while they run. Every pass
// records its owner, start and end in the database. It checks, with the
// figures logged:
//
//   - three workers own 20 mailboxes each (±20%), and stay so;
//   - a SIGKILLed worker's mailboxes have passes by the others within
//     LeaseTTL + 5 s of the kill, and the two survivors balance;
//   - a fourth worker that joins gets its share within a minute;
//   - no two passes of different owners over one mailbox ever overlap
//     (a killed worker's pass in flight ends at its kill);
//   - the sink ends equal to Graph, and workers that stop release every
//     lease and leave.
//
// LeaseTTL is 10 s (below the engine's 30 s minimum, through a test knob)
// so that the test takes about 40 s; the figures are for 30 s:
//
//	M365LINK_WORKERS_LEASE_TTL=30s go test -run '^TestWorkerProcessesShareMailboxes$' -v ./sync/
func TestWorkerProcessesShareMailboxes(t *testing.T) {
	dsn := os.Getenv("M365LINK_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
	}
	if testing.Short() {
		t.Skip("worker processes take about 40 s")
	}
	ttl := 10 * time.Second
	if v := os.Getenv("M365LINK_WORKERS_LEASE_TTL"); v != "" {
		var err error
		ttl, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	n := 60
	if raceDetector {
		n = 30 // four instrumented processes share two cores here
	}
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 6, Vendors: 3, Seed: 61})
	db := openWorkersDB(t, dsn)
	w := &workers{t: t, h: h, db: db, dsn: dsn, ttl: ttl, n: n, procs: map[string]*exec.Cmd{}, stdin: map[string]io.Closer{}}
	t.Cleanup(w.killAll)
	stopChanges := w.changeMail()

	t0 := time.Now()
	for _, name := range []string{"A", "B", "C"} {
		w.start(name)
	}
	at := w.waitBalanced("three workers start", []string{"A", "B", "C"}, time.Minute)
	t.Logf("three workers balanced %.1fs after they started: %v", at.Sub(t0).Seconds(), w.owners())

	// SIGKILL C: its leases stay until they expire; then the others take
	// its mailboxes.
	killed := w.ownedBy("C")
	require.Len(t, killed, w.share(3))
	kill := time.Now()
	require.NoError(t, w.procs["C"].Process.Kill())
	_ = w.procs["C"].Wait()
	delete(w.procs, "C")
	lastExpiry := time.UnixMilli(w.lastExpiry("C"))
	var takeover []time.Duration
	require.Eventually(t, func() bool {
		takeover = w.resumed(killed, "C", kill)
		return len(takeover) == len(killed)
	}, ttl+30*time.Second, 100*time.Millisecond, "the others resume C's mailboxes")
	slices.Sort(takeover)
	t.Logf("C killed owning %d mailboxes; its leases expired %.1fs after the kill; the others' first passes over them started %.1fs–%.1fs after the kill (LeaseTTL %v)",
		len(killed), lastExpiry.Sub(kill).Seconds(), takeover[0].Seconds(), takeover[len(takeover)-1].Seconds(), ttl)
	assert.LessOrEqual(t, takeover[len(takeover)-1], ttl+5*time.Second, "resumed within LeaseTTL + 5 s")
	at = w.waitBalanced("two survivors", []string{"A", "B"}, ttl+30*time.Second)
	t.Logf("two survivors balanced %.1fs after the kill: %v", at.Sub(kill).Seconds(), w.owners())

	// A fourth worker joins: the others release what they own beyond
	// their share.
	join := time.Now()
	w.start("D")
	at = w.waitBalanced("a fourth worker joins", []string{"A", "B", "D"}, time.Minute)
	t.Logf("D joined (a new process) and owns its share %.1fs later: %v", at.Sub(join).Seconds(), w.owners())
	assert.Less(t, at.Sub(join), time.Minute, "a new worker gets its share within a minute")

	stopChanges()
	require.Eventually(t, func() bool { return w.mirrored(false) }, time.Minute, 200*time.Millisecond, "the sink catches up with Graph")
	w.mirrored(true)

	// A worker that stops releases what it owns and leaves.
	for _, name := range []string{"A", "B", "D"} {
		require.NoError(t, w.stdin[name].Close())
	}
	for _, name := range []string{"A", "B", "D"} {
		require.NoError(t, w.procs[name].Wait(), "worker %s", name)
		delete(w.procs, name)
	}
	assert.Empty(t, w.owners(), "no lease held once the workers stopped")
	var live int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+w.table("sync_workers")+" WHERE expires >= $1", time.Now().UnixMilli()).Scan(&live))
	assert.Zero(t, live, "no worker left alive")

	passes, refused := w.checkPasses(map[string]time.Time{"C": kill})
	assert.Zero(t, refused, "a worker passes only over the mailboxes it owns")
	t.Logf("%d passes in %.0fs, %d stopped by a lease another worker held; no two owners' passes over one mailbox overlapped",
		passes, time.Since(t0).Seconds(), refused)
}

// workers drives the worker processes of TestWorkerProcessesShareMailboxes.
type workers struct {
	t     *testing.T
	h     *harness
	db    *sql.DB
	dsn   string
	ttl   time.Duration
	n     int
	procs map[string]*exec.Cmd
	stdin map[string]io.Closer
}

const workersPrefixVar = "M365LINK_SYNC_WORKER_PREFIX"

// openWorkersDB opens the test's PostgreSQL with a table prefix of its
// own (in the environment, for the workers), creates the store's tables,
// the sink's and the pass log, and drops them all when the test ends.
func openWorkersDB(t *testing.T, dsn string) *sql.DB {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "sync_workers_" + hex.EncodeToString(b[:])
	t.Setenv(workersPrefixVar, prefix)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, table := range []string{"tokens", "sync_state", "sync_leases", "sync_workers", "consent_states", "migrations", "messages", "passes"} {
			_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_" + table)
		}
		db.Close()
	})
	store, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Prefix: prefix})
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background()))
	for _, q := range []string{
		"CREATE TABLE " + prefix + "_messages (mailbox TEXT NOT NULL, id TEXT NOT NULL, folder TEXT NOT NULL, " +
			"generation BIGINT NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (mailbox, id))",
		"CREATE TABLE " + prefix + "_passes (id BIGSERIAL PRIMARY KEY, mailbox TEXT NOT NULL, owner TEXT NOT NULL, " +
			"started BIGINT NOT NULL, ended BIGINT, ran BOOLEAN, cause TEXT)",
	} {
		_, err := db.Exec(q)
		require.NoError(t, err)
	}
	return db
}

func (w *workers) table(suffix string) string { return os.Getenv(workersPrefixVar) + "_" + suffix }

// start runs worker name in a child process.
func (w *workers) start(name string) {
	t := w.t
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "M365LINK_SYNC_WORKER="+name,
		"M365LINK_SYNC_WORKER_GRAPH="+w.h.fg.URL(), "M365LINK_SYNC_WORKER_ORIGIN="+w.h.fg.Origin(),
		"M365LINK_SYNC_WORKER_TENANT="+w.h.seed.Tenants[0].Tenant.ID, "M365LINK_SYNC_WORKER_TTL="+w.ttl.String())
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	w.procs[name], w.stdin[name] = cmd, stdin
}

func (w *workers) killAll() {
	for _, cmd := range w.procs {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// changeMail adds, deletes and renames messages in random mailboxes
// every 100 ms until the returned func is called.
func (w *workers) changeMail() (stop func()) {
	h, done, stopped := w.h, make(chan struct{}), make(chan struct{})
	for i := range w.n {
		h.liveFolders(w.t, i) // looks the folder IDs up here, not in the goroutine
	}
	rng := mrand.New(mrand.NewPCG(61, 62))
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			i := rng.IntN(w.n)
			u := h.seed.Mailboxes[i].User.ID
			switch k % 3 {
			case 0:
				h.add(i, "inbox", fakegraph.Message{Subject: fmt.Sprintf("change %d", k)})
			case 1:
				if live := h.live(w.t, i); len(live) > 0 {
					h.fg.DeleteMessage(u, live[rng.IntN(len(live))])
				}
			case 2:
				if live := h.live(w.t, i); len(live) > 0 {
					h.fg.UpdateMessage(u, live[rng.IntN(len(live))], func(m *fakegraph.Message) { m.Subject = fmt.Sprintf("renamed %d", k) })
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func (w *workers) share(live int) int { return (w.n + live - 1) / live }

// owners counts the unexpired leases by owner.
func (w *workers) owners() map[string]int {
	rows, err := w.db.Query("SELECT owner, COUNT(*) FROM "+w.table("sync_leases")+" WHERE expires >= $1 GROUP BY owner", time.Now().UnixMilli())
	require.NoError(w.t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var owner string
		var count int
		require.NoError(w.t, rows.Scan(&owner, &count))
		out[owner] = count
	}
	require.NoError(w.t, rows.Err())
	return out
}

// balanced reports whether exactly the live workers own every mailbox,
// each within ±20% of its share.
func (w *workers) balanced(live []string) bool {
	got := w.owners()
	share := float64(w.share(len(live)))
	total := 0
	for owner, count := range got {
		if !slices.Contains(live, owner) || math.Abs(float64(count)-share) > 0.2*share {
			return false
		}
		total += count
	}
	return len(got) == len(live) && total == w.n
}

// waitBalanced waits until the live workers are balanced, then checks
// that they stay so for three balancer beats; it returns when they first
// were.
func (w *workers) waitBalanced(what string, live []string, within time.Duration) (at time.Time) {
	t := w.t
	t.Helper()
	require.Eventually(t, func() bool { return w.balanced(live) }, within, 100*time.Millisecond, "%s: balanced", what)
	at = time.Now()
	beat, _, _ := m365sync.BalanceTimesForTest(w.ttl)
	for end := time.Now().Add(3 * beat); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		require.True(t, w.balanced(live), "%s: stays balanced: %v", what, w.owners())
	}
	return at
}

// ownedBy lists the mailboxes whose unexpired leases owner holds.
func (w *workers) ownedBy(owner string) []string {
	rows, err := w.db.Query("SELECT lease_key FROM "+w.table("sync_leases")+" WHERE owner = $1 AND expires >= $2", owner, time.Now().UnixMilli())
	require.NoError(w.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		require.NoError(w.t, rows.Scan(&k))
		out = append(out, k)
	}
	require.NoError(w.t, rows.Err())
	return out
}

// lastExpiry is when owner's last lease expires (Unix ms).
func (w *workers) lastExpiry(owner string) int64 {
	var ms int64
	require.NoError(w.t, w.db.QueryRow("SELECT MAX(expires) FROM "+w.table("sync_leases")+" WHERE owner = $1", owner).Scan(&ms))
	return ms
}

// resumed returns, for each of the mailboxes that another owner than
// gone has run a pass over since at, how long after at the first started.
func (w *workers) resumed(mailboxes []string, gone string, at time.Time) []time.Duration {
	rows, err := w.db.Query("SELECT mailbox, MIN(started) FROM "+w.table("passes")+
		" WHERE owner <> $1 AND started > $2 AND ran GROUP BY mailbox", gone, at.UnixMicro())
	require.NoError(w.t, err)
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var mb string
		var started int64
		require.NoError(w.t, rows.Scan(&mb, &started))
		if slices.Contains(mailboxes, mb) {
			out = append(out, time.UnixMicro(started).Sub(at))
		}
	}
	require.NoError(w.t, rows.Err())
	return out
}

// mirrored reports whether the sink holds exactly what Graph holds in
// every mailbox's Inbox and Sent Items, each message in its folder with
// its subject; with report, it asserts so.
func (w *workers) mirrored(report bool) bool {
	t, h := w.t, w.h
	ok := true
	for i := range w.n {
		mb := h.mailbox(i)
		want := map[string]string{}
		for id, folder := range h.liveFolders(t, i) {
			m, _ := h.fg.Message(mb.UserID, id)
			want[id] = folder + " " + m.Subject
		}
		rows, err := w.db.Query("SELECT id, folder, subject FROM "+w.table("messages")+" WHERE mailbox = $1", mb.Key())
		require.NoError(t, err)
		got := map[string]string{}
		for rows.Next() {
			var id, folder, subject string
			require.NoError(t, rows.Scan(&id, &folder, &subject))
			got[id] = folder + " " + subject
		}
		require.NoError(t, rows.Err())
		rows.Close()
		if report {
			ok = assert.Equal(t, want, got, "sink ≠ Graph for %s", mb.UPN) && ok
		} else if !assert.ObjectsAreEqual(want, got) {
			return false
		}
	}
	return ok
}

// checkPasses asserts that no two passes of different owners over one
// mailbox overlapped, a killed worker's unfinished pass ending at its kill,
// and that every other pass ended. It returns how many passes there were
// and how many found the mailbox's lease held by another worker.
func (w *workers) checkPasses(killed map[string]time.Time) (passes, refused int) {
	t := w.t
	type pass struct {
		owner      string
		start, end int64
	}
	rows, err := w.db.Query("SELECT mailbox, owner, started, ended, COALESCE(cause, '') FROM " + w.table("passes") + " ORDER BY mailbox, started")
	require.NoError(t, err)
	defer rows.Close()
	byMailbox := map[string][]pass{}
	for rows.Next() {
		var mb, owner string
		var start int64
		var end sql.NullInt64
		var cause string
		require.NoError(t, rows.Scan(&mb, &owner, &start, &end, &cause))
		passes++
		if cause == "lease lost" {
			refused++
		}
		if !end.Valid {
			at, ok := killed[owner]
			require.True(t, ok, "a pass of %s over %s never ended", owner, mb)
			end.Int64 = at.UnixMicro()
		}
		byMailbox[mb] = append(byMailbox[mb], pass{owner, start, end.Int64})
	}
	require.NoError(t, rows.Err())
	require.Len(t, byMailbox, w.n)
	for mb, ps := range byMailbox {
		// In order of start: a pass overlaps an earlier one of another
		// owner when it starts before that one's end.
		lastEnd := map[string]int64{}
		for _, p := range ps {
			for owner, end := range lastEnd {
				if owner != p.owner && p.start < end {
					t.Errorf("%s: a pass of %s started %dµs before a pass of %s ended", mb, p.owner, end-p.start, owner)
				}
			}
			lastEnd[p.owner] = max(lastEnd[p.owner], p.end)
		}
	}
	return passes, refused
}

// TestSyncWorkerProcess is a worker of TestWorkerProcessesShareMailboxes
// in a child process: Run with state, leases, sink and pass log in
// PostgreSQL until its stdin closes. It does nothing in a normal test run.
func TestSyncWorkerProcess(t *testing.T) {
	name := os.Getenv("M365LINK_SYNC_WORKER")
	if name == "" {
		t.Skip("a worker of TestWorkerProcessesShareMailboxes; runs only as its child process")
	}
	ttl, err := time.ParseDuration(os.Getenv("M365LINK_SYNC_WORKER_TTL"))
	if err != nil {
		panic(err)
	}
	prefix := os.Getenv(workersPrefixVar)
	db, err := sql.Open("pgx", os.Getenv("M365LINK_TEST_POSTGRES"))
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(12) // Workers × FolderConcurrency and the balancer
	db.SetMaxIdleConns(12)
	store, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Prefix: prefix})
	if err != nil {
		panic(err)
	}
	gc, err := graphclient.New(graphclient.Config{Retry: retryAttempts(8),
		Cloud: m365link.Cloud{Name: "fake", GraphBase: os.Getenv("M365LINK_SYNC_WORKER_GRAPH"), GraphResource: os.Getenv("M365LINK_SYNC_WORKER_ORIGIN")}})
	if err != nil {
		panic(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("worker", name)
	cfg := m365sync.WithTestPaging(m365sync.Config{
		TenantID: os.Getenv("M365LINK_SYNC_WORKER_TENANT"), Client: gc,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} },
		Sink:   &pgSink{db: db, table: prefix + "_messages"}, State: store.SyncState(), Leases: store.Leases(),
		Policy:   m365sync.Policy{AllMailboxes: true},
		Schedule: m365sync.Schedule{Owner: name, Interval: time.Second, Workers: 4},
		OnPass:   passLogger(db, prefix+"_passes", name),
		Logger:   log,
	}, 10, 0)
	e, err := m365sync.New(m365sync.WithTestLeaseTTL(cfg, ttl))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent closes stdin to stop us
		cancel()
	}()
	if err := e.Run(ctx); !errors.Is(err, context.Canceled) {
		log.Error("Run", "error", err)
		os.Exit(1)
	}
	db.Close()
	os.Exit(0)
}

// passLogger records every pass's owner, start and end in table.
func passLogger(db *sql.DB, table, owner string) func(context.Context, m365link.Mailbox) (context.Context, func(m365sync.PassResult)) {
	return func(ctx context.Context, mb m365link.Mailbox) (context.Context, func(m365sync.PassResult)) {
		var id int64
		// Not cancelled with ctx (the worker stopping): a row written
		// with its answer lost would be a pass that never ended.
		if err := db.QueryRowContext(context.WithoutCancel(ctx), "INSERT INTO "+table+" (mailbox, owner, started) VALUES ($1, $2, $3) RETURNING id",
			mb.Key(), owner, time.Now().UnixMicro()).Scan(&id); err != nil {
			panic(err)
		}
		return ctx, func(r m365sync.PassResult) {
			cause := ""
			if r.Err != nil {
				cause = m365sync.Cause(r.Err)
			}
			if _, err := db.ExecContext(context.WithoutCancel(ctx), "UPDATE "+table+" SET ended = $1, ran = $2, cause = $3 WHERE id = $4",
				time.Now().UnixMicro(), r.State != "", cause, id); err != nil {
				panic(err)
			}
		}
	}
}

// pgSink is a Sink in one PostgreSQL table: (mailbox, id) → folder,
// generation and subject; every call is one transaction.
type pgSink struct {
	db    *sql.DB
	table string
}

func (s *pgSink) Apply(ctx context.Context, p *m365sync.Page) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	mb := p.Mailbox.Key()
	for _, m := range p.Upserts {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.table+" (mailbox, id, folder, generation, subject) VALUES ($1, $2, $3, $4, $5) "+
			"ON CONFLICT (mailbox, id) DO UPDATE SET folder = excluded.folder, generation = excluded.generation, subject = excluded.subject",
			mb, m.ID, p.Folder.ID, p.Generation, m.Subject); err != nil {
			return err
		}
	}
	for _, r := range p.Removals {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.table+" WHERE mailbox = $1 AND id = $2 AND folder = $3", mb, r.ID, r.FolderID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *pgSink) Reset(ctx context.Context, r m365sync.Reset) error {
	if r.Phase != m365sync.ResetEnd {
		return nil
	}
	_, err := s.db.ExecContext(ctx, "DELETE FROM "+s.table+" WHERE mailbox = $1 AND folder = $2 AND generation < $3",
		r.Mailbox.Key(), r.FolderID, r.Generation)
	return err
}

func (s *pgSink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM "+s.table+" WHERE mailbox = $1", mb.Key())
	return err
}
