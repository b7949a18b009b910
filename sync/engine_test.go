package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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

func TestInitialThenIncremental(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 60, Vendors: 3, Seed: 1})
	e := h.engine(t, h.config(nil, nil))
	mb := h.mailbox(0)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	n := len(h.live(t, 0))
	st, ok := e.Status(mb.Key())
	require.True(t, ok)
	assert.Equal(t, m365sync.Status{Mailbox: mb, State: m365sync.StateIdle, Pages: int(e.Counters().Pages), Items: n, Estimate: n, LastSync: st.LastSync,
		Folders: []string{h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")}}, st)
	assert.WithinDuration(t, time.Now(), st.LastSync, 5*time.Second)
	stored, err := e.LoadStatus(ctx, mb.Key())
	require.NoError(t, err)
	assert.True(t, st.LastSync.Equal(stored.LastSync))
	stored.LastSync = st.LastSync // the same instant, without the monotonic clock reading
	assert.Equal(t, st, stored, "the status is saved for other workers and restarts")

	// Changes: a new message, an update, a delete, a move between the two
	// synced folders and a move out of them.
	u := h.seed.Mailboxes[0].User
	inbox := h.seed.Mailboxes[0].Inbox
	fresh := h.add(0, "inbox", fakegraph.Message{Subject: "new PO", From: fakegraph.Address{Address: "ann@acme.com"}})
	h.fg.UpdateMessage(u.ID, inbox[1], func(m *fakegraph.Message) { m.Subject = "edited" })
	h.fg.DeleteMessage(u.ID, inbox[2])
	h.fg.MoveMessage(u.ID, inbox[3], "sentitems")
	h.fg.MoveMessage(u.ID, inbox[4], "archive")
	_, removedBefore, _ := h.sink.Counts()
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	_, _, ok = h.sink.Message(mb, fresh)
	assert.True(t, ok)
	_, folder, ok := h.sink.Message(mb, inbox[3])
	require.True(t, ok, "a move between synced folders keeps the message")
	assert.Equal(t, h.folderID(t, 0, "sentitems"), folder)
	_, removedAfter, _ := h.sink.Counts()
	assert.Equal(t, 2, removedAfter-removedBefore, "the delete and the move out; the move between synced folders is no removal")
	assert.Equal(t, int64(3), e.Counters().Removals, "three removals handed over: one the sink ignored")
	st, _ = e.Status(mb.Key())
	assert.Equal(t, m365sync.StateIdle, st.State)
	assert.Equal(t, 3, st.Items, "the new, the edited and the moved-in message")
}

// A move between two synced folders reaches the sink as an upsert in the
// new folder and a removal from the old one that it ignores, whichever
// folder syncs first and whether they sync at once: the sink never deletes
// the message.
func TestMovesBetweenSyncedFoldersAreUpdates(t *testing.T) {
	for _, conc := range []int{1, 2} {
		t.Run(fmt.Sprintf("folders=%d", conc), func(t *testing.T) {
			h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 40, Vendors: 3, Seed: 21})
			cfg := h.config(nil, nil)
			cfg.Schedule.FolderConcurrency = conc
			e := h.engine(t, cfg)
			mb := h.mailbox(0)
			ctx := context.Background()
			require.NoError(t, e.SyncOnce(ctx, mb))
			u := h.seed.Mailboxes[0].User.ID
			inbox, sent := h.seed.Mailboxes[0].Inbox, h.seed.Mailboxes[0].SentItems
			moved := map[string]string{inbox[0]: "sentitems", inbox[1]: "sentitems", sent[0]: "inbox", sent[1]: "inbox"}
			for id, to := range moved {
				h.fg.MoveMessage(u, id, to)
			}
			_, removedBefore, tombBefore := h.sink.Counts()
			require.NoError(t, e.SyncOnce(ctx, mb))
			h.assertMirror(t, 0)
			_, removedAfter, tombAfter := h.sink.Counts()
			assert.Equal(t, removedBefore, removedAfter, "no message was deleted")
			assert.Equal(t, tombBefore, tombAfter)
			for id, to := range moved {
				_, folder, ok := h.sink.Message(mb, id)
				assert.True(t, ok)
				assert.Equal(t, h.folderID(t, 0, to), folder)
			}
		})
	}
}

// A removal recorded in a cursor but not yet applied (the pass crashed at
// the end) must not delete the message if it came back to the folder
// before the next pass.
func TestPendingRemovalCancelledWhenTheMessageReturns(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 22})
	mb := h.mailbox(0)
	ctx := context.Background()
	require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(ctx, mb))
	u := h.seed.Mailboxes[0].User.ID
	id := h.seed.Mailboxes[0].Inbox[0]
	h.fg.MoveMessage(u, id, "archive")
	// The pass's only Apply is the deferred removal: fail it.
	sink := &crashSink{Sink: h.sink, failAt: 1}
	require.ErrorIs(t, h.engine(t, h.config(sink, nil)).SyncOnce(ctx, mb), errInjected)
	c, err := m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), h.folderID(t, 0, "inbox"))
	require.NoError(t, err)
	assert.Equal(t, []m365sync.Removal{{ID: id, FolderID: h.folderID(t, 0, "inbox")}}, c.Pending)

	h.fg.MoveMessage(u, id, "inbox")
	require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	_, _, ok := h.sink.Message(mb, id)
	assert.True(t, ok, "the message is back in the Inbox")
}

// garble replaces the first message of the first delta page of a folder
// with something that is not a message.
type garble struct {
	base http.RoundTripper
	done atomic.Bool
}

func (g *garble) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.base.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/messages/delta") || resp.StatusCode != 200 || !g.done.CompareAndSwap(false, true) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.Replace(body, []byte(`"value":[`), []byte(`"value":[42,`), 1)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func TestItemErrorsAreReportedAndDoNotStall(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 23})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	gc, err := graphclient.New(graphclient.Config{Cloud: fakeCloud(h.fg), HTTPClient: &http.Client{Transport: &garble{base: h.fg.Client().Transport}},
		Retry: retryAttempts(8)})
	require.NoError(t, err)
	cfg.Client = gc
	var reported []*m365link.ItemError
	cfg.OnItemError = func(got m365link.Mailbox, ie *m365link.ItemError) {
		assert.Equal(t, mb, got)
		reported = append(reported, ie)
	}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	h.assertMirror(t, 0)
	require.Len(t, reported, 1)
	assert.Equal(t, 0, reported[0].Index)
	assert.Equal(t, int64(1), e.Counters().ItemErrors)
	st, _ := e.Status(mb.Key())
	assert.Equal(t, 1, st.ItemErrors)
	assert.Equal(t, m365sync.StateIdle, st.State)
}

// Hosts may call SyncOnce for a mailbox while Run or another call is
// syncing it: the passes take turns, and the sink never sees two at once.
func TestSyncOnceNeverOverlapsForAMailbox(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 2, MessagesPerMailbox: 60, Vendors: 2, Seed: 24})
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: time.Millisecond, Route: "messages/delta"})
	e := h.engine(t, h.config(nil, nil))
	var wg gosync.WaitGroup
	for i := range 6 {
		wg.Go(func() { assert.NoError(t, e.SyncOnce(context.Background(), h.mailbox(i%2))) })
	}
	wg.Wait()
	assert.Zero(t, h.sink.overlapCount())
	h.assertMirror(t, 0)
	h.assertMirror(t, 1)
}

// An initial sync costs one request per folder to look it up, then one per
// page: nothing wasted.
func TestRequestsPerInitialSync(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 4400, Vendors: 3, Seed: 25})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg = m365sync.WithTestPaging(cfg, 1000, 0)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	c := e.Counters()
	assert.Equal(t, int(c.Requests), h.fg.Stats(mb.UserID).Requests)
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
	n := len(h.seed.Mailboxes[0].Inbox)
	assert.Equal(t, int64((n+999)/1000), c.Pages)
	assert.Equal(t, c.Pages+1, c.Requests, "pages + 1")
	var prefer []string
	for _, r := range h.fg.Requests() {
		if strings.Contains(r.Route, "delta") {
			prefer = append(prefer, r.Prefer)
		}
	}
	for _, p := range prefer {
		assert.Contains(t, p, `odata.maxpagesize=1000`)
		assert.Contains(t, p, `IdType="ImmutableId"`)
	}
}

func TestProgressReportsTheInitialSync(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 50, Vendors: 2, Seed: 26})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Schedule.FolderConcurrency = 1
	var seen []m365sync.Status
	cfg.OnProgress = func(s m365sync.Status) { seen = append(seen, s) }
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	n := len(h.live(t, 0))
	require.NotEmpty(t, seen)
	items := 0
	for i, s := range seen[:len(seen)-1] {
		assert.Equal(t, m365sync.StateInitial, s.State)
		assert.Equal(t, n, s.Estimate, "from the folders' totalItemCount")
		assert.Equal(t, i, s.Pages, "the start, then each page")
		assert.GreaterOrEqual(t, s.Items, items)
		items = s.Items
	}
	last := seen[len(seen)-1]
	assert.Equal(t, m365sync.StateIdle, last.State)
	assert.Equal(t, n, last.Items)
	assert.Equal(t, []m365sync.Status{last}, e.Statuses())
}

func TestFolderPathAndChildFolders(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 2, Seed: 13})
	mb := h.mailbox(0)
	vendorsFolder := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: "Vendors", ParentID: "inbox"})
	acmeFolder := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: "Acme", ParentID: vendorsFolder.ID})
	inVendors := h.add(0, vendorsFolder.ID, fakegraph.Message{Subject: "filed"})
	inAcme := h.add(0, acmeFolder.ID, fakegraph.Message{Subject: "filed deeper"})
	h.add(0, "inbox", fakegraph.Message{Subject: "not selected"})
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{Path: "inbox/VENDORS"}}
	cfg.ChildFolders = true
	require.NoError(t, h.engine(t, cfg).SyncOnce(context.Background(), mb))
	assert.Equal(t, map[string]string{inVendors: vendorsFolder.ID, inAcme: acmeFolder.ID}, h.sink.Folders(mb))

	// By ID, without children.
	h2 := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 2, Seed: 13})
	f := h2.fg.AddFolder(h2.mailbox(0).UserID, fakegraph.Folder{DisplayName: "Vendors", ParentID: "inbox"})
	kid := h2.fg.AddFolder(h2.mailbox(0).UserID, fakegraph.Folder{DisplayName: "Acme", ParentID: f.ID})
	in := h2.add(0, f.ID, fakegraph.Message{Subject: "filed"})
	h2.add(0, kid.ID, fakegraph.Message{Subject: "filed deeper"})
	cfg = h2.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{ID: f.ID}}
	require.NoError(t, h2.engine(t, cfg).SyncOnce(context.Background(), h2.mailbox(0)))
	assert.Equal(t, map[string]string{in: f.ID}, h2.sink.Folders(h2.mailbox(0)))
}

func TestMissingFolderIsSkipped(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 27})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}, {Path: "Inbox/Nowhere"}}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
	st, _ := e.Status(mb.Key())
	assert.Equal(t, m365sync.StateIdle, st.State)
	assert.Equal(t, "not found: Inbox/Nowhere", st.Reason)

	cfg.Folders = []m365sync.FolderSpec{{Path: "Inbox/Nowhere"}}
	e = h.engine(t, cfg)
	require.ErrorIs(t, e.SyncOnce(context.Background(), mb), m365link.ErrNotFound, "nothing to sync at all is an error")
	st, _ = e.Status(mb.Key())
	assert.Equal(t, m365sync.StateError, st.State)
}

// stealingLeases hands the lease to another owner after the first renewal.
type stealingLeases struct {
	m365sync.MemoryLeases
	calls atomic.Int32
}

func (s *stealingLeases) Acquire(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if s.calls.Add(1) == 3 {
		// The lease expired unnoticed and another worker took it.
		if err := s.MemoryLeases.Release(ctx, key, owner); err != nil {
			return false, err
		}
		if _, err := s.MemoryLeases.Acquire(ctx, key, "thief", ttl); err != nil {
			return false, err
		}
	}
	return s.MemoryLeases.Acquire(ctx, key, owner, ttl)
}

// A worker whose lease was taken over stops before writing the next page.
func TestLeaseIsCheckedBeforeEveryPage(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 40, Vendors: 2, Seed: 28})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Schedule.FolderConcurrency = 1
	cfg.Leases, cfg.Schedule.Owner = &stealingLeases{}, "me"
	e := h.engine(t, cfg)
	// Acquire #1 takes the lease, #2 renews it for page 1, #3 finds it stolen.
	require.ErrorIs(t, e.SyncOnce(context.Background(), mb), m365sync.ErrLeaseLost)
	upserts, _, _ := h.sink.Counts()
	assert.Equal(t, 10, upserts, "one page only")
	assert.Equal(t, "me", e.Owner())
}

// New refuses a mistaken Config with one error that names every problem.
func TestNewChecksTheConfig(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, Vendors: 1, Seed: 1})
	for _, tc := range []struct {
		name   string
		change func(*m365sync.Config)
		want   string
	}{
		{"empty", func(c *m365sync.Config) { *c = m365sync.Config{} },
			"sync: invalid Config: TenantID is required (the tenant whose mailboxes sync); Tokens is required (a token source per mailbox); " +
				"a sink is required: Sink (mail), Calendar.Sink or Contacts.Sink; State is required (MemoryState, sqlstore's SyncState or the host's own StateStore)"},
		{"folder spec", func(c *m365sync.Config) {
			c.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}, {WellKnown: "inbox", Path: "Inbox"}, {}}
		},
			"sync: invalid Config: Folders[1] sets 2 of WellKnown, Path and ID; exactly one is allowed; Folders[2] sets 0 of WellKnown, Path and ID; exactly one is allowed"},
		{"window", func(c *m365sync.Config) { c.Window = m365sync.Window{Days: -30} },
			"sync: invalid Config: Window.Days is -30; it must be 0 (everything) or positive"},
		{"future window", func(c *m365sync.Config) { c.Window = m365sync.Window{Start: time.Now().Add(time.Hour)} },
			"sync: invalid Config: Window.Start is in the future"},
		{"schedule", func(c *m365sync.Config) {
			c.Schedule = m365sync.Schedule{Workers: -1, Interval: -time.Second}
			c.Leases, c.Schedule.LeaseTTL = &m365sync.MemoryLeases{}, time.Second
		}, "sync: invalid Config: Schedule.Workers is negative; 0 takes the default; Schedule.Interval is negative; 0 takes the default; " +
			"Schedule.LeaseTTL is 1s; with Leases it must be at least 30s (a page can take that long)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := h.config(nil, nil)
			tc.change(&cfg)
			_, err := m365sync.New(cfg)
			assert.EqualError(t, err, tc.want)
		})
	}
	// A mailbox of another tenant is refused at once.
	e := h.engine(t, h.config(nil, nil))
	err := e.SyncOnce(context.Background(), m365link.Mailbox{TenantID: "other", UserID: "u"})
	assert.EqualError(t, err, "sync: mailbox other/u is in tenant other, not the engine's "+h.seed.Tenants[0].Tenant.ID)
}

// A folder that is no longer synced — here dropped from the configuration
// while no engine ran — is emptied in the sink by the next pass, and its
// cursor forgotten, so the sink keeps equalling what is synced.
func TestFolderThatDropsOutIsEmptied(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 29})
	mb := h.mailbox(0)
	ctx := context.Background()
	require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(ctx, mb))
	h.assertMirror(t, 0)

	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	e := h.engine(t, cfg) // a new process: the folders come from the saved status
	require.NoError(t, e.SyncOnce(ctx, mb))
	inbox, sent := h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")
	h.assertMirror(t, 0, inbox)
	assert.Contains(t, h.sink.resets, m365sync.Reset{Mailbox: mb, FolderID: sent, Phase: m365sync.ResetEnd, Generation: m365sync.DropGeneration})
	c, err := m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), sent)
	require.NoError(t, err)
	assert.Equal(t, m365sync.TestCursor{V: 2, Generation: 1}, c, "forgotten but for its generation")
	st, _ := e.Status(mb.Key())
	assert.Equal(t, []string{inbox}, st.Folders)

	// Configured again, it syncs from scratch, under a newer generation.
	require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	c, err = m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), sent)
	require.NoError(t, err)
	assert.Equal(t, int64(2), c.Generation)
}

func TestIncludeBodyAsksForTextBodies(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 1, Seed: 30})
	mb := h.mailbox(0)
	id := h.add(0, "inbox", fakegraph.Message{Subject: "Quote", Body: "<p>Price: <b>42</b></p>", BodyContentType: "html"})
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	require.NoError(t, h.engine(t, cfg).SyncOnce(context.Background(), mb))
	m, _, _ := h.sink.Message(mb, id)
	assert.Empty(t, m.Body, "lean by default")

	cfg.IncludeBody = true
	h2 := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 1, Seed: 30})
	id = h2.add(0, "inbox", fakegraph.Message{Subject: "Quote", Body: "<p>Price: <b>42</b></p>", BodyContentType: "html"})
	cfg.Client, cfg.Sink, cfg.State, cfg.TenantID = h2.client(retryAttempts(8)), h2.sink, h2.state, h2.seed.Tenants[0].Tenant.ID
	require.NoError(t, h2.engine(t, cfg).SyncOnce(context.Background(), h2.mailbox(0)))
	m, _, _ = h2.sink.Message(h2.mailbox(0), id)
	assert.Equal(t, "text", m.BodyContentType)
	assert.NotContains(t, m.Body, "<b>")
	assert.Contains(t, m.Body, "42")
}
