package sync_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// scaleFolders is how many folders each mailbox of the scale test has:
// the six well-known ones and ten of the user's.
const scaleFolders = 16

// TestScale drives Run as a host does at scale: mailboxes of 16 folders
// each (AllMailFolders) and a few messages, a fake Graph in a child
// process (this test binary again, see TestFakeGraphProcess) so that its
// CPU and heap do not count against the engine's, a no-op sink and state
// in memory. It runs the first sync of every mailbox, then one idle pass of
// each, and reports in one run: CPU-ms and requests per idle pass, the
// scheduler's share of the CPU, the first sync's spread across mailboxes,
// and the heap the engine retains per mailbox.
//
// It syncs 500 mailboxes (200 with -short, 50 under the race detector),
// in about ten seconds here;
// the figures are for 10,000:
//
//	M365LINK_SCALE_MAILBOXES=10000 go test -run '^TestScale$' -v -timeout 30m ./sync/
func TestScale(t *testing.T) {
	n := 500
	switch {
	case raceDetector:
		n = 50 // the code paths, not the figures
	case testing.Short():
		n = 200
	}
	if v := os.Getenv("M365LINK_SCALE_MAILBOXES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	base, tenant, users := startFakeGraph(t, n)
	mbs := make([]m365link.Mailbox, n)
	for i, u := range users {
		mbs[i] = m365link.Mailbox{TenantID: tenant, UserID: u}
	}
	rec := newPassLog()
	state := &m365sync.MemoryState{}
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "scale", GraphBase: base}})
	require.NoError(t, err)
	e, err := m365sync.New(m365sync.Config{Client: gc, TenantID: tenant,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} },
		Sink:   noopSink{}, State: state, Folders: m365sync.AllMailFolders,
		Policy:   m365sync.Policy{Mailboxes: mbs},
		Schedule: m365sync.Schedule{Interval: time.Hour},
		OnPass:   rec.onPass,
	})
	require.NoError(t, err)

	// Each phase is a Run until every mailbox had a pass more; then, Run
	// idle (every mailbox next due in an hour), idle runs.
	phase := func(name string, passes int, idle func()) (wall, cpu, sched time.Duration, requests int64) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		c0, s0, r0, t0 := cpuTime(), m365sync.SchedulerTimeForTest(e), e.Counters().Requests, time.Now()
		rec.start(t0)
		go func() { done <- e.Run(ctx) }()
		require.Eventually(t, func() bool { return rec.ended() >= passes }, 30*time.Minute, 10*time.Millisecond, name)
		wall, cpu = time.Since(t0), cpuTime()-c0
		sched, requests = m365sync.SchedulerTimeForTest(e)-s0, e.Counters().Requests-r0
		require.Eventually(t, func() bool { return m365sync.QueuedForTest(e) == n }, time.Minute, time.Millisecond)
		idle()
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		return wall, cpu, sched, requests
	}
	// The first sync of every mailbox.
	wall1, cpu1, sched1, req1 := phase("first sync", n, func() {})
	first := rec.firstPasses()
	require.Len(t, first.sinceStart, n, "every mailbox had its first pass, once")
	for _, st := range e.Statuses() {
		require.Equal(t, m365sync.StateIdle, st.State, st.Mailbox.UserID)
	}

	// One idle pass of every mailbox (a new Run: each is due at once, and
	// then in an hour). Then the heap the engine keeps with Run idle: the
	// live heap with the engine and its Graph client, less the live heap
	// without them (the state store, the sink and this test's records stay
	// in both).
	var withEngine uint64
	var summary m365sync.Summary
	wall2, cpu2, sched2, req2 := phase("idle passes", 2*n, func() {
		withEngine = liveHeap()
		summary = e.Summary()
	})
	assert.Equal(t, 2*n, rec.ended(), "one idle pass each")
	gc.HTTPClient().CloseIdleConnections()
	e, gc = nil, nil
	without := liveHeap()
	runtime.KeepAlive(state)
	runtime.KeepAlive(rec)
	perMailbox := (float64(withEngine) - float64(without)) / float64(n)

	p50, p99, pmax := quantiles(first.sinceStart)
	d50, d99, dmax := quantiles(first.duration)
	t.Logf("%d mailboxes × %d folders, Workers 8, FolderConcurrency 2, fake Graph in another process", n, scaleFolders)
	t.Logf("first sync: %.1fs wall, %.1f CPU-s (%.2f CPU-ms/mailbox), %d requests (%.1f/mailbox); scheduler %.2f%% of CPU",
		wall1.Seconds(), cpu1.Seconds(), ms(cpu1)/float64(n), req1, float64(req1)/float64(n), 100*sched1.Seconds()/cpu1.Seconds())
	t.Logf("first sync done, since Run started: p50 %v, p99 %v, max %v (max/p50 %.2f); a first pass's duration: p50 %v, p99 %v, max %v",
		p50, p99, pmax, pmax.Seconds()/p50.Seconds(), d50, d99, dmax)
	t.Logf("idle passes: %.1fs wall, %.3f CPU-ms and %.2f requests per mailbox pass; scheduler %.2f%% of CPU",
		wall2.Seconds(), ms(cpu2)/float64(n), float64(req2)/float64(n), 100*sched2.Seconds()/cpu2.Seconds())
	t.Logf("retained heap: %.0f bytes per mailbox (%.1f MB with the engine, %.1f MB without)",
		perMailbox, float64(withEngine)/(1<<20), float64(without)/(1<<20))
	t.Logf("summary: %d mailboxes, states %v, lag p50 %v p99 %v", summary.Mailboxes, summary.States, summary.LagP50, summary.LagP99)

	assert.Equal(t, map[m365sync.State]int{m365sync.StateIdle: n}, summary.States)
	if raceDetector {
		return // its instrumentation skews the figures
	}
	assert.Less(t, sched1.Seconds()/cpu1.Seconds(), 0.05, "scheduler under 5% of the CPU (first sync)")
	assert.Less(t, sched2.Seconds()/cpu2.Seconds(), 0.05, "scheduler under 5% of the CPU (idle passes)")
	assert.Less(t, perMailbox, 2048.0, "retained heap per mailbox under 2 KB")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func quantiles(ds []time.Duration) (p50, p99, pmax time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))].Round(time.Millisecond) }
	return q(0.5), q(0.99), s[len(s)-1].Round(time.Millisecond)
}

// passLog records when each mailbox's passes start and end.
type passLog struct {
	mu     gosync.Mutex
	t0     time.Time
	n      int
	starts map[string][]time.Time // by user ID: every pass's start
	ends   map[string][]time.Time
}

func newPassLog() *passLog {
	return &passLog{starts: map[string][]time.Time{}, ends: map[string][]time.Time{}}
}

func (l *passLog) start(t0 time.Time) {
	l.mu.Lock()
	l.t0 = t0
	l.mu.Unlock()
}

func (l *passLog) onPass(ctx context.Context, mb m365link.Mailbox) (context.Context, func(m365sync.PassResult)) {
	l.mu.Lock()
	l.starts[mb.UserID] = append(l.starts[mb.UserID], time.Now())
	l.mu.Unlock()
	return ctx, func(m365sync.PassResult) {
		l.mu.Lock()
		l.ends[mb.UserID] = append(l.ends[mb.UserID], time.Now())
		l.n++
		l.mu.Unlock()
	}
}

func (l *passLog) ended() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

type firstPasses struct{ sinceStart, duration []time.Duration }

// firstPasses says, for every mailbox, when its first pass ended since
// the first Run started, and how long it took.
func (l *passLog) firstPasses() firstPasses {
	l.mu.Lock()
	defer l.mu.Unlock()
	var f firstPasses
	for u, ends := range l.ends {
		f.sinceStart = append(f.sinceStart, ends[0].Sub(l.t0))
		f.duration = append(f.duration, ends[0].Sub(l.starts[u][0]))
	}
	return f
}

// TestFakeGraphProcess is the scale test's Graph: a fake in a child
// process; it does nothing in a normal test run.
func TestFakeGraphProcess(t *testing.T) {
	dir := os.Getenv("M365LINK_FAKEGRAPH")
	if dir == "" {
		t.Skip("the scale test's Graph; runs only as its child process")
	}
	n, err := strconv.Atoi(os.Getenv("M365LINK_FAKEGRAPH_MAILBOXES"))
	if err != nil {
		panic(err)
	}
	fg := fakegraph.New()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 4, Vendors: 3, Seed: 41})
	var users strings.Builder
	fmt.Fprintln(&users, seed.Tenants[0].Tenant.ID)
	for _, mb := range seed.Mailboxes {
		for i := range scaleFolders - 6 {
			fg.AddFolder(mb.User.ID, fakegraph.Folder{DisplayName: "Project " + strconv.Itoa(i)})
		}
		fmt.Fprintln(&users, mb.User.ID)
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users.String()), 0o600); err != nil {
		panic(err)
	}
	go func() { // the fake keeps a record of every request: forget them
		for range time.Tick(5 * time.Second) {
			fg.ResetStats()
		}
	}()
	fmt.Printf("URL %s\n", fg.URL())
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent closes stdin to stop us
	os.Exit(0)
}

// startFakeGraph runs a fake with n mailboxes of scaleFolders folders in a
// child process and returns its Graph base URL, tenant and user IDs.
func startFakeGraph(tb testing.TB, n int) (base, tenant string, users []string) {
	dir := tb.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeGraphProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "M365LINK_FAKEGRAPH="+dir, "M365LINK_FAKEGRAPH_MAILBOXES="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	cmd.Stderr = os.Stderr
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(tb, err)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "URL ")
	require.True(tb, ok, line)
	go io.Copy(io.Discard, stdout)
	raw, err := os.ReadFile(filepath.Join(dir, "users"))
	require.NoError(tb, err)
	lines := strings.Fields(string(raw))
	require.Len(tb, lines, n+1)
	return base, lines[0], lines[1:]
}
