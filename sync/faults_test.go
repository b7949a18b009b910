package sync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// Graph loses the sync state on page 3 of a round: exactly one resync, and
// the sink ends equal to the live set, with the messages deleted while the
// round ran (which no delta will ever report) tombstoned.
func TestResetOnPage3(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 80, Vendors: 3, Seed: 3})
	mb := h.mailbox(0)
	u := h.seed.Mailboxes[0].User
	gone := h.seed.Mailboxes[0].Inbox[:3]
	var armed atomic.Bool
	cfg := h.config(nil, nil)
	cfg.Schedule.FolderConcurrency = 1 // Inbox, then Sent Items: "page 3" is the Inbox's third
	cfg.OnProgress = func(m365sync.Status) {
		if armed.CompareAndSwap(true, false) {
			// After the round's first page: too late for this round, and
			// the round is about to be lost.
			for _, id := range gone {
				h.fg.DeleteMessage(u.ID, id)
			}
		}
	}
	e := h.engine(t, cfg)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	inbox := h.folderID(t, 0, "inbox")

	var added []string
	for i := range 25 {
		added = append(added, h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("new %d", i)}))
	}
	// The round spans 3 pages of the Inbox; the third answers 410.
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.SyncReset410, Route: "messages/delta", Mailbox: u.ID, Skip: 2, Times: 1})
	armed.Store(true)
	require.NoError(t, e.SyncOnce(ctx, mb))
	assert.Equal(t, int64(1), e.Counters().Resyncs)
	h.assertMirror(t, 0)
	for _, id := range gone {
		_, _, ok := h.sink.Message(mb, id)
		assert.False(t, ok, "%s tombstoned", id)
	}
	_, removals, tombstones := h.sink.Counts()
	assert.Equal(t, 3, tombstones)
	assert.Zero(t, removals)
	assert.Equal(t, []m365sync.Reset{
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetBegin, Generation: 2},
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: 2},
	}, h.sink.resets)
	for _, id := range added {
		assert.GreaterOrEqual(t, h.sink.upsertCount(id), 1)
	}
	// The next pass is incremental again.
	h.add(0, "inbox", fakegraph.Message{Subject: "after"})
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	assert.Equal(t, int64(1), e.Counters().Resyncs)
}

// A server that resets every time: each pass restarts the folder's round
// a bounded number of times, counts one reset and backs off; past
// MaxResyncs resets in the window the folder is degraded. Passes while it
// is degraded send nothing and do not extend it; once the window has
// passed and Graph behaves, the first pass recovers exactly.
func TestResetLoopDegrades(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 4})
	mb := h.mailbox(0)
	stop := h.fg.Inject(fakegraph.Fault{Kind: fakegraph.ResyncRequired, Route: "messages/delta", Mailbox: mb.UserID})
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Schedule.ResyncWindow = 2 * time.Second
	e := h.engine(t, cfg)
	ctx := context.Background()
	const route = "GET /users/{id}/mailFolders/{id}/messages/delta"
	var errs []string
	for range 20 {
		err := e.SyncOnce(ctx, mb)
		require.Error(t, err)
		if errors.Is(err, m365sync.ErrDegraded) {
			break
		}
		errs = append(errs, m365sync.Cause(err))
	}
	// Four passes meet the server (9 requests each: the round and 8
	// restarts), the others back off: 1, 2, 4 failed passes in a row
	// leave 0, 1, 3 passes alone.
	assert.Equal(t, []string{"sync reset", "sync reset", "backing off", "sync reset", "backing off", "backing off", "backing off"}, errs)
	assert.Equal(t, 4*9, h.fg.Stats(mb.UserID).Routes[route])
	assert.Equal(t, int64(4*8), e.Counters().Resyncs)
	st, _ := e.Status(mb.Key())
	assert.Equal(t, m365sync.StateDegraded, st.State)
	cur, err := m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), h.folderID(t, 0, "inbox"))
	require.NoError(t, err)
	until := cur.DegradedUntil
	assert.WithinDuration(t, time.Now().Add(cfg.Schedule.ResyncWindow), until, time.Second)

	// Polled while degraded: nothing sent, the window not extended.
	for range 3 {
		require.ErrorIs(t, e.SyncOnce(ctx, mb), m365sync.ErrDegraded)
	}
	assert.Equal(t, 4*9, h.fg.Stats(mb.UserID).Routes[route])
	cur, _ = m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), h.folderID(t, 0, "inbox"))
	assert.Equal(t, until, cur.DegradedUntil)

	stop()
	time.Sleep(time.Until(until))
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
	st, _ = e.Status(mb.Key())
	assert.Equal(t, m365sync.StateIdle, st.State)
	cur, _ = m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), h.folderID(t, 0, "inbox"))
	assert.Zero(t, cur.Failures)
	assert.True(t, cur.DegradedUntil.IsZero())
}

// 50 mailboxes of five folders each (Inbox with three child folders, Sent
// Items), synced five folders at a time under 429 storms with Retry-After,
// 503s, 504s, connection resets, sync resets, truncated and malformed
// bodies, in a first sync and in a pass after changes of every kind:
// nothing lost, nothing doubled, every message in its folder, and never
// more than 4 requests in flight for one mailbox (the fake enforces
// Outlook's limit and would answer 429 beyond it).
func TestFaultMatrixOver50Mailboxes(t *testing.T) {
	const n = 50
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 40, Vendors: 5, Seed: 5},
		fakegraph.WithLimits(fakegraph.Limits{MaxConcurrent: 4}))
	kids := make([][]string, n)
	for i := range n {
		for j := range 3 {
			f := h.fg.AddFolder(h.mailbox(i).UserID, fakegraph.Folder{DisplayName: fmt.Sprintf("Vendor %d", j), ParentID: "inbox"})
			kids[i] = append(kids[i], f.ID)
			for k := range 5 {
				h.add(i, f.ID, fakegraph.Message{Subject: fmt.Sprintf("filed %d.%d", j, k)})
			}
		}
	}
	synced := func(i int) []string {
		return append([]string{h.folderID(t, i, "inbox"), h.folderID(t, i, "sentitems")}, kids[i]...)
	}
	for i := range n {
		synced(i) // ask the fake before it misbehaves
	}
	kinds := []fakegraph.Fault{
		{Kind: fakegraph.Throttle429, RetryAfter: "0", Times: 3},
		{Kind: fakegraph.Unavailable503, Times: 2},
		{Kind: fakegraph.ConnReset, Times: 2},
		{Kind: fakegraph.TruncatedBody, Times: 2},
		{Kind: fakegraph.MalformedJSON, Times: 2},
		{Kind: fakegraph.Throttle429, RetryAfter: "garbage", Times: 4},
		{Kind: fakegraph.SyncReset410, Route: "messages/delta", Times: 1},
		{Kind: fakegraph.GatewayTimeout504, Times: 1},
		{Kind: fakegraph.SyncStateNotFound, Route: "messages/delta", Times: 1},
		{Kind: fakegraph.Unavailable503, RetryAfter: "0.2", Times: 1},
		{Kind: fakegraph.Latency, Delay: 3 * time.Millisecond, Times: 10},
		{Kind: fakegraph.Throttle429, RetryAfter: "0.5", Times: 1},
	}
	inject := func(round int) {
		for i := range n {
			for _, k := range []int{i, i*7 + round} {
				f := kinds[k%len(kinds)]
				f.Mailbox, f.Skip = h.mailbox(i).UserID, (i+round)%4
				if f.Route == "" && i%2 == 0 {
					f.Route = "messages/delta"
				}
				h.fg.Inject(f)
			}
		}
		// A real 429 storm on two mailboxes: every request for a while.
		for _, i := range []int{round, round + 20} {
			h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Throttle429, RetryAfter: "1", Mailbox: h.mailbox(i).UserID, Skip: 3, Times: 2})
		}
	}
	cfg := h.config(nil, nil)
	cfg.ChildFolders, cfg.Schedule.FolderConcurrency = true, 5
	cfg.Client = h.client(retryAttempts(20)) // faults pile up on one request: outlast them
	e := h.engine(t, cfg)
	pass := func() {
		var wg gosync.WaitGroup
		sem := make(chan struct{}, 8)
		for i := range n {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				assert.NoError(t, e.SyncOnce(context.Background(), h.mailbox(i)), h.mailbox(i).UPN)
			})
		}
		wg.Wait()
	}

	inject(0)
	pass()
	for i := range n {
		h.assertMirror(t, i, synced(i)...)
	}
	for i := range n {
		u := h.mailbox(i).UserID
		inbox, sent := h.seed.Mailboxes[i].Inbox, h.seed.Mailboxes[i].SentItems
		h.add(i, "inbox", fakegraph.Message{Subject: "new"})
		h.add(i, kids[i][1], fakegraph.Message{Subject: "new, filed"})
		h.fg.DeleteMessage(u, inbox[0])
		h.fg.UpdateMessage(u, inbox[1], func(m *fakegraph.Message) { m.Subject = "edited" })
		h.fg.MoveMessage(u, inbox[2], kids[i][0])
		h.fg.MoveMessage(u, sent[0], "inbox")
		h.fg.MoveMessage(u, inbox[3], "deleteditems")
	}
	inject(1)
	pass()
	for i := range n {
		h.assertMirror(t, i, synced(i)...)
		assert.LessOrEqual(t, h.fg.Stats(h.mailbox(i).UserID).MaxInFlight, 4, h.mailbox(i).UPN)
	}
	c := e.Counters()
	t.Logf("counters: %+v", c)
	assert.Positive(t, c.Throttled)
	assert.Positive(t, c.Resyncs)
	assert.Zero(t, h.sink.overlapCount())
	maxIn := 0
	for i := range n {
		maxIn = max(maxIn, h.fg.Stats(h.mailbox(i).UserID).MaxInFlight)
	}
	assert.Equal(t, 4, maxIn, "five folders at once meet the limiter's bound of 4")
}

func TestThrottledStatusWhileWaiting(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 14})
	mb := h.mailbox(0)
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Throttle429, RetryAfter: "1", Route: "messages/delta", Mailbox: mb.UserID, Times: 1})
	e := h.engine(t, h.config(nil, nil))
	done := make(chan error)
	go func() { done <- e.SyncOnce(context.Background(), mb) }()
	var seen m365sync.Status
	require.Eventually(t, func() bool {
		seen, _ = e.Status(mb.Key())
		return seen.State == m365sync.StateThrottled
	}, 5*time.Second, 5*time.Millisecond)
	assert.WithinDuration(t, time.Now().Add(time.Second), seen.ThrottledUntil, time.Second)
	require.NoError(t, <-done)
	st, _ := e.Status(mb.Key())
	assert.Equal(t, m365sync.StateIdle, st.State)
	assert.Equal(t, int64(1), e.Counters().Throttled)
	h.assertMirror(t, 0)
}

// windowed seeds 120 messages inside a window and 30 before it, in the Inbox.
func windowed(t *testing.T, capAt int) (h *harness, start time.Time, inWindow []string) {
	start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	h = newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 2, Seed: 6}, fakegraph.WithFilteredDeltaCap(capAt))
	for i := range 120 {
		inWindow = append(inWindow, h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("in %d", i), ReceivedDateTime: start.Add(time.Duration(i) * time.Hour)}))
	}
	for i := range 30 {
		h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("old %d", i), ReceivedDateTime: start.Add(-time.Duration(i+1) * 24 * time.Hour)})
	}
	return h, start, inWindow
}

// deltaQueries lists the $filter of every first delta request ("" for none).
func deltaQueries(h *harness) []string {
	var out []string
	for _, r := range h.fg.Requests() {
		if strings.HasSuffix(r.Path, "/messages/delta") {
			q, _ := url.ParseQuery(r.RawQuery)
			out = append(out, q.Get("$filter"))
		}
	}
	return out
}

func TestWindowBeyondTheFilteredCap(t *testing.T) {
	h, start, inWindow := windowed(t, 50)
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Window = m365sync.Window{Start: start}
	cfg = m365sync.WithTestPaging(cfg, 0, 50) // the fake's cap, standing in for Graph's 5,000
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Equal(t, sorted(inWindow...), h.sink.IDs(mb), "all 120 in the window, none older, although Graph stopped the filtered delta at 50")
	assert.Equal(t, []string{"receivedDateTime ge 2026-10-01T00:00:00Z", ""}, deltaQueries(h), "filtered, then unfiltered")

	// Later rounds stay unfiltered and keep the cut.
	late := h.add(0, "inbox", fakegraph.Message{Subject: "late", ReceivedDateTime: start.Add(200 * time.Hour)})
	h.add(0, "inbox", fakegraph.Message{Subject: "backdated", ReceivedDateTime: start.Add(-time.Hour)})
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Equal(t, sorted(append(inWindow, late)...), h.sink.IDs(mb))
}

func TestWindowWithinTheCapNeedsNoFallback(t *testing.T) {
	h, start, inWindow := windowed(t, 5000)
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Window = m365sync.Window{Start: start}
	cfg = m365sync.WithTestPaging(cfg, 0, 120) // exactly reached, but the window holds just as many ($count): no fallback...
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Equal(t, sorted(inWindow...), h.sink.IDs(mb))
	assert.Equal(t, []string{"receivedDateTime ge 2026-10-01T00:00:00Z"}, deltaQueries(h))

	h2, start, inWindow := windowed(t, 5000)
	cfg = h2.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Window = m365sync.Window{Start: start}
	cfg = m365sync.WithTestPaging(cfg, 0, 121) // ...one short of the cap, it is not
	require.NoError(t, h2.engine(t, cfg).SyncOnce(context.Background(), h2.mailbox(0)))
	assert.Equal(t, sorted(inWindow...), h2.sink.IDs(h2.mailbox(0)))
	assert.Equal(t, []string{"receivedDateTime ge 2026-10-01T00:00:00Z"}, deltaQueries(h2))
}

// A filtered incremental round that reaches the cap may have lost changes,
// removals among them: the folder resyncs unfiltered, with tombstones.
func TestFilteredIncrementalRoundAtTheCapResyncs(t *testing.T) {
	h, start, inWindow := windowed(t, 130)
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Window = m365sync.Window{Start: start}
	cfg = m365sync.WithTestPaging(cfg, 0, 130)
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	require.Equal(t, sorted(inWindow...), h.sink.IDs(mb))

	for _, id := range inWindow[:5] {
		h.fg.DeleteMessage(mb.UserID, id)
	}
	live := inWindow[5:]
	for i := range 140 {
		live = append(live, h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("more %d", i), ReceivedDateTime: start.Add(time.Duration(200+i) * time.Hour)}))
	}
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Equal(t, sorted(live...), h.sink.IDs(mb))
	inbox := h.folderID(t, 0, "inbox")
	assert.Equal(t, []m365sync.Reset{
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetBegin, Generation: 2},
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: 2},
	}, h.sink.resets)
	assert.Equal(t, int64(0), e.Counters().Resyncs, "not a reset by Graph")
}

func TestStatesForUnusableMailboxes(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 2, NotMailEnabled: 1, MessagesPerMailbox: 10, Vendors: 2, Seed: 8})
	noMail := h.seed.Tenants[0].Users[2]
	cfg := h.config(nil, nil)
	reconnect := &m365link.ReconnectError{Reason: m365link.ReasonExpired, Code: "AADSTS700082"}
	cfg.Tokens = func(mb m365link.Mailbox) m365sync.TokenSource {
		if mb.UserID == h.mailbox(1).UserID {
			return failingToken{reconnect}
		}
		return staticToken{}
	}
	e := h.engine(t, cfg)
	ctx := context.Background()
	err := e.SyncOnce(ctx, m365link.Mailbox{UserID: noMail.ID, UPN: noMail.UPN})
	require.ErrorIs(t, err, m365link.ErrMailboxNotEnabled)
	assert.True(t, strings.HasPrefix(err.Error(), "sync: "+noMail.UPN+": m365link: "), err.Error())
	st, _ := e.Status(m365link.Mailbox{TenantID: h.seed.Tenants[0].Tenant.ID, UserID: noMail.ID}.Key())
	assert.Equal(t, m365sync.StateNotMailEnabled, st.State)
	assert.Equal(t, 2, h.fg.Stats(noMail.ID).Requests, "one $batch of the two folders, not retried")

	err = e.SyncOnce(ctx, h.mailbox(1))
	require.ErrorIs(t, err, m365link.ErrReconnectRequired)
	st, _ = e.Status(h.mailbox(1).Key())
	assert.Equal(t, m365sync.StateReconnectRequired, st.State)
	assert.Equal(t, "expired", st.Reason)

	require.NoError(t, e.SyncOnce(ctx, h.mailbox(0)), "others carry on")
	h.assertMirror(t, 0)
}

func TestGatewayTimeoutsShrinkThePage(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 300, Vendors: 2, Seed: 12})
	mb := h.mailbox(0)
	// Every 504 outlasts the HTTP layer's retries (3 attempts here).
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.GatewayTimeout504, Route: "messages/delta", Mailbox: mb.UserID, Times: 3})
	cfg := h.config(nil, nil)
	cfg = m365sync.WithTestPaging(cfg, 200, 0)
	cfg.Client = h.client(retryAttempts(3))
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
	var prefers []string
	for _, r := range h.fg.Requests() {
		if r.Route == "GET /users/{id}/mailFolders/{id}/messages/delta" && r.Status == 200 {
			prefers = append(prefers, r.Prefer)
		}
	}
	require.NotEmpty(t, prefers)
	assert.Contains(t, prefers[0], "odata.maxpagesize=100", "halved once after the 504s")
}

// Logs name mailboxes, folders and errors, never tokens or the delta and
// skip tokens in Graph's links (they grant access to the mailbox's
// changes).
func TestLogsCarryNoTokens(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 40, Vendors: 2, Seed: 18})
	mb := h.mailbox(0)
	var buf bytes.Buffer
	cfg := h.config(nil, nil)
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// One folder: its requests go alone, not in a $batch probe, so each
	// fault below meets the path it is meant for.
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	gc, err := graphclient.New(graphclient.Config{Cloud: fakeCloud(h.fg), HTTPClient: h.fg.Client(), Retry: retryAttempts(8), Logger: cfg.Logger})
	require.NoError(t, err)
	cfg.Client = gc // the client's logger too: retries are logged there
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	h.add(0, "inbox", fakegraph.Message{Subject: "new"})
	for _, k := range []fakegraph.FaultKind{fakegraph.SyncReset410, fakegraph.Throttle429, fakegraph.TruncatedBody, fakegraph.ConnReset, fakegraph.GatewayTimeout504} {
		h.fg.Inject(fakegraph.Fault{Kind: k, Route: "messages/delta", Mailbox: mb.UserID, Times: 1, RetryAfter: "0"})
	}
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
	logs := buf.String()
	require.Contains(t, logs, "sync: sync state reset; full resync")
	require.Contains(t, logs, "graph: retrying")
	for _, secret := range []string{"token", "Bearer", "test"} {
		for _, line := range strings.Split(logs, "\n") {
			assert.NotContains(t, strings.ReplaceAll(line, "sync state", ""), secret, line)
		}
	}
}
