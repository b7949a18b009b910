package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
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

// deleteHeld deletes at Graph the first n messages the sink holds in
// folder: after that only a sweep can take them out of the sink.
func deleteHeld(t *testing.T, h *harness, folder string, n int) []string {
	t.Helper()
	mb := h.mailbox(0)
	var gone []string
	held := h.sink.Folders(mb)
	for _, id := range keys(held) {
		if held[id] == folder && len(gone) < n {
			gone = append(gone, id)
		}
	}
	require.Len(t, gone, n, "the sink holds messages of the killed round")
	for _, id := range gone {
		h.fg.DeleteMessage(mb.UserID, id)
	}
	return gone
}

// A full round killed at each of its pages — a folder's first round, a
// resync after Graph lost the sync state, a redo past the filter cap —
// then messages it had delivered are deleted at Graph before the restart.
// The restarted round runs under a new generation and sweeps: the sink
// ends equal to Graph, no ghosts, nothing lost.
func TestKilledFullRoundsLeaveNoGhosts(t *testing.T) {
	type scenario struct {
		name    string
		prepare func(t *testing.T) (*harness, m365sync.Config, func(*testing.T))
		pages   int // Apply calls of the round under test
	}
	inboxOnly := func(h *harness) m365sync.Config {
		cfg := h.config(nil, nil)
		cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
		return cfg
	}
	mirror := func(h *harness) func(*testing.T) {
		return func(t *testing.T) { h.assertMirror(t, 0, h.folderID(t, 0, "inbox")) }
	}
	scenarios := []scenario{
		{name: "first round", pages: 3, prepare: func(t *testing.T) (*harness, m365sync.Config, func(*testing.T)) {
			h := newHarness(t, crashSpec)
			return h, inboxOnly(h), mirror(h)
		}},
		{name: "resync round", pages: 3, prepare: func(t *testing.T) (*harness, m365sync.Config, func(*testing.T)) {
			h := newHarness(t, crashSpec)
			cfg := inboxOnly(h)
			require.NoError(t, h.engine(t, cfg).SyncOnce(context.Background(), h.mailbox(0)))
			h.fg.Inject(fakegraph.Fault{Kind: fakegraph.SyncReset410, Route: "messages/delta", Mailbox: h.mailbox(0).UserID, Times: 1})
			return h, cfg, mirror(h)
		}},
		{name: "cap redo", pages: 12, prepare: func(t *testing.T) (*harness, m365sync.Config, func(*testing.T)) {
			h, start, _ := windowed(t, 50)
			cfg := inboxOnly(h)
			cfg.Window = m365sync.Window{Start: start}
			cfg = m365sync.WithTestPaging(cfg, 0, 50)
			// The filtered round (5 pages of 10) reaches the cap; the
			// unfiltered redo delivers 15 pages, 12 of them in the window.
			return h, cfg, func(t *testing.T) {
				mb := h.mailbox(0)
				var want []string
				for id := range h.liveFolders(t, 0, h.folderID(t, 0, "inbox")) {
					if m, _ := h.fg.Message(mb.UserID, id); !m.ReceivedDateTime.Before(start) {
						want = append(want, id)
					}
				}
				assert.Equal(t, sorted(want...), h.sink.IDs(mb))
			}
		}},
	}
	for _, sc := range scenarios {
		for n := 1; n <= sc.pages; n++ {
			t.Run(fmt.Sprintf("%s/killed after page %d", sc.name, n), func(t *testing.T) {
				h, cfg, check := sc.prepare(t)
				mb := h.mailbox(0)
				inbox := h.folderID(t, 0, "inbox")
				offset := 0
				if sc.name == "cap redo" {
					offset = 5 // the filtered round's pages come first
				}
				sink := &crashSink{Sink: h.sink, failAt: offset + n, after: true}
				cfg.Sink = sink
				require.ErrorIs(t, h.engine(t, cfg).SyncOnce(context.Background(), mb), errInjected)
				gone := deleteHeld(t, h, inbox, 2)
				h.add(0, "inbox", fakegraph.Message{Subject: "arrived while down"})

				cfg.Sink = h.sink
				restarted := h.engine(t, cfg)
				// A round resumed from its saved nextLink hears of deletions
				// in the next round; one restarted from the base query
				// sweeps them at its end.
				for range 2 {
					require.NoError(t, restarted.SyncOnce(context.Background(), mb))
				}
				check(t)
				for _, id := range gone {
					_, _, ok := h.sink.Message(mb, id)
					assert.False(t, ok, "ghost %s", id)
				}
				c, err := m365sync.LoadCursorForTest(context.Background(), h.state, mb.Key(), inbox)
				require.NoError(t, err)
				if n := len(h.sink.resets); n > 0 {
					// The last sweep came with the newest generation.
					assert.Equal(t, m365sync.Reset{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: c.Generation}, h.sink.resets[n-1])
				}
				assert.False(t, c.Resyncing)
				assert.False(t, c.Initial)
			})
		}
	}
}

// The checker's case: a mailbox that changes while its engine is killed
// again and again at random points; after a clean pass the sink equals
// Graph on every seed.
func TestKilledRepeatedlyWhileTheMailboxChanges(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 99))
			h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 60, Vendors: 3, Seed: 40 + seed})
			mb := h.mailbox(0)
			u := mb.UserID
			for round := range 6 {
				sink := &crashSink{Sink: h.sink, failAt: 1 + rnd.IntN(6), after: rnd.IntN(2) == 0}
				cfg := h.config(sink, nil)
				if rnd.IntN(3) == 0 {
					h.fg.Inject(fakegraph.Fault{Kind: fakegraph.SyncReset410, Route: "messages/delta", Mailbox: u, Skip: rnd.IntN(4), Times: 1})
				}
				_ = h.engine(t, cfg).SyncOnce(context.Background(), mb)
				// Change Graph while the engine is down: deletions of what
				// the sink holds, new mail, moves both ways.
				held := keys(h.sink.Folders(mb))
				for _, id := range held[:min(3, len(held))] {
					if _, ok := h.fg.Message(u, id); ok {
						h.fg.DeleteMessage(u, id)
					}
				}
				h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("round %d", round)})
				live := h.live(t, 0)
				if len(live) > 2 {
					m, _ := h.fg.Message(u, live[rnd.IntN(len(live))])
					if m.ParentFolderID == h.folderID(t, 0, "inbox") {
						h.fg.MoveMessage(u, m.ID, "sentitems")
					} else {
						h.fg.MoveMessage(u, m.ID, "inbox")
					}
				}
			}
			// A clean engine: the first pass finishes the interrupted rounds
			// (whose snapshots predate the last changes), the second picks
			// those changes up.
			e := h.engine(t, h.config(nil, nil))
			for range 2 {
				require.NoError(t, e.SyncOnce(context.Background(), mb))
			}
			h.assertMirror(t, 0)
		})
	}
}

// A folder that a crashed pass had started to sync is deleted before any
// pass finished: it was recorded before anything was synced, so a later
// pass finds it gone and empties it in the sink.
func TestFolderDeletedBeforeAnyPassFinished(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 31})
	mb := h.mailbox(0)
	vendors := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: "Vendors", ParentID: "inbox"}).ID
	for i := range 25 {
		h.add(0, vendors, fakegraph.Message{Subject: fmt.Sprintf("filed %d", i)})
	}
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{Path: "Inbox/Vendors"}, {WellKnown: "sentitems"}}
	cfg.Schedule.FolderConcurrency = 1
	sink := &crashSink{Sink: h.sink, failAt: 2, after: true}
	cfg.Sink = sink
	ctx := context.Background()
	require.ErrorIs(t, h.engine(t, cfg).SyncOnce(ctx, mb), errInjected)
	require.Len(t, h.sink.IDs(mb), 20, "two pages of Vendors were delivered")

	h.fg.DeleteFolder(mb.UserID, vendors)
	cfg.Sink = h.sink
	e := h.engine(t, cfg)
	// The folder set was cached: the first pass meets the 404 and looks
	// the folders up again, the next one finds it gone and empties it.
	err := e.SyncOnce(ctx, mb)
	require.ErrorIs(t, err, m365link.ErrNotFound)
	var fe *m365sync.FolderError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, vendors, fe.Folder.ID)
	require.NoError(t, e.SyncOnce(ctx, mb))
	sent := h.folderID(t, 0, "sentitems")
	h.assertMirror(t, 0, sent)
	assert.Contains(t, h.sink.resets, m365sync.Reset{Mailbox: mb, FolderID: vendors, Phase: m365sync.ResetEnd, Generation: m365sync.DropGeneration})
	st, _ := e.Status(mb.Key())
	assert.Equal(t, []string{sent}, st.Folders)
	assert.Equal(t, "not found: Inbox/Vendors", st.Reason)
}

// One folder fails on every request: the other folders finish and
// checkpoint, the pass reports the folder (typed), and the folder backs
// off over the next passes, then recovers once Graph does.
func TestOneFolderFailingDoesNotStopTheOthers(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 32})
	mb := h.mailbox(0)
	inbox, sent := h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")
	stop := h.fg.Inject(fakegraph.Fault{Kind: fakegraph.MalformedJSON, Route: "/mailFolders/" + inbox + "/messages/delta", Mailbox: mb.UserID})
	cfg := h.config(nil, nil)
	cfg.Client = h.client(retryAttempts(3))
	cfg.Schedule.FolderConcurrency = 1 // the Inbox first: its failure must not stop Sent Items
	e := h.engine(t, cfg)
	ctx := context.Background()

	var causes []string
	for range 4 {
		err := e.SyncOnce(ctx, mb)
		var fe *m365sync.FolderError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, m365sync.Folder{ID: inbox, Name: "inbox", Total: len(h.live(t, 0, inbox))}, fe.Folder)
		causes = append(causes, m365sync.Cause(err))
		h.assertMirror(t, 0, sent)
		st, _ := e.Status(mb.Key())
		assert.Equal(t, m365sync.StateError, st.State)
	}
	assert.Equal(t, []string{"malformed response", "malformed response", "backing off", "malformed response"}, causes)
	// 3 attempts in each of the 3 passes that tried.
	tried := 0
	for _, r := range h.fg.Requests() {
		if strings.Contains(r.Path, inbox) {
			tried++
		}
	}
	assert.Equal(t, 9, tried)

	stop()
	for i := 0; ; i++ {
		require.Less(t, i, 5, "recovers")
		if err := e.SyncOnce(ctx, mb); err == nil {
			break
		} else {
			require.ErrorIs(t, err, m365sync.ErrFolderBackoff)
		}
	}
	h.assertMirror(t, 0)
	c, err := m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), inbox)
	require.NoError(t, err)
	assert.Zero(t, c.Failures)
	assert.Empty(t, c.LastError)
}

// A saved cursor the engine can never use (a link to another origin, left
// by an older version or damaged) makes the folder start a full round
// with a sweep on its own.
func TestUnusableSavedCursorRecovers(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	ctx := context.Background()
	require.NoError(t, h.engine(t, cfg).SyncOnce(ctx, mb))
	inbox := h.folderID(t, 0, "inbox")
	c, err := m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), inbox)
	require.NoError(t, err)
	c.Link = "https://evil.example/v1.0/users/x/mailFolders/y/messages/delta?$deltatoken=abc"
	require.NoError(t, m365sync.SaveCursorForTest(ctx, h.state, mb.Key(), inbox, c))
	gone := deleteHeld(t, h, inbox, 2)

	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	for _, id := range gone {
		_, _, ok := h.sink.Message(mb, id)
		assert.False(t, ok)
	}
	assert.Equal(t, int64(1), e.Counters().UntrustedLinks)
	for _, r := range h.fg.Requests() {
		assert.NotContains(t, r.RawQuery, "abc", "the foreign link was never followed")
	}
}

// Graph answers page 3 of the Inbox with a nextLink to another origin:
// the page is refused before anything of it is applied or saved, the
// Inbox keeps its last good cursor while Sent Items finishes, and once
// the origin is right again the next pass completes exactly.
func TestForeignLinkOnPage3ThenRestored(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	inbox, sent := h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.ForeignNextLink, Route: inbox, Mailbox: mb.UserID, Skip: 2, Times: 1})
	e := h.engine(t, h.config(nil, nil))
	ctx := context.Background()
	err := e.SyncOnce(ctx, mb)
	require.ErrorIs(t, err, m365link.ErrUntrustedLink)
	assert.NotContains(t, err.Error(), "deltatoken")
	assert.NotContains(t, err.Error(), "skiptoken")
	var fe *m365sync.FolderError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, inbox, fe.Folder.ID)
	assert.Equal(t, int64(1), e.Counters().UntrustedLinks)
	var inSent []string
	for id, f := range h.sink.Folders(mb) {
		if f == sent {
			inSent = append(inSent, id)
		}
	}
	assert.Equal(t, h.live(t, 0, sent), sorted(inSent...), "Sent Items finished")
	c, err := m365sync.LoadCursorForTest(ctx, h.state, mb.Key(), inbox)
	require.NoError(t, err)
	assert.True(t, c.Initial)
	assert.True(t, strings.HasPrefix(c.Link, h.fg.Origin()+"/"), "the last good nextLink, on the configured origin")
	assert.Len(t, h.sink.IDs(mb), len(h.live(t, 0, sent))+20, "Sent Items and the Inbox's first two pages")
	for _, r := range h.fg.Requests() {
		assert.NotContains(t, r.Path, "evil")
	}

	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	upserts := 0
	for _, id := range h.live(t, 0, inbox) {
		upserts += h.sink.upsertCount(id)
	}
	assert.Equal(t, len(h.live(t, 0, inbox)), upserts, "nothing of the refused page was applied: each message once")
}

// ResetFolder and ResetMailbox let a host start a folder (or every folder
// of a mailbox) over: the next pass runs a full round with a sweep.
func TestHostResetsAFolder(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	e := h.engine(t, h.config(nil, nil))
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	inbox, sent := h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")
	// A sink that lost track: it holds a message Graph does not have.
	require.NoError(t, h.sink.Apply(ctx, &m365sync.Page{Mailbox: mb, Folder: m365sync.Folder{ID: inbox}, Generation: 1,
		Upserts: []m365link.Message{{ID: "stray", FolderID: inbox}}}))

	require.NoError(t, e.ResetFolder(ctx, mb, inbox))
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	assert.Equal(t, []m365sync.Reset{
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetBegin, Generation: 2},
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: 2},
	}, h.sink.resets)

	require.NoError(t, e.ResetMailbox(ctx, mb))
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	ends := slices.DeleteFunc(slices.Clone(h.sink.resets[2:]), func(r m365sync.Reset) bool { return r.Phase != m365sync.ResetEnd })
	assert.ElementsMatch(t, []m365sync.Reset{
		{Mailbox: mb, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: 3},
		{Mailbox: mb, FolderID: sent, Phase: m365sync.ResetEnd, Generation: 2},
	}, ends)
	require.EqualError(t, e.ResetFolder(ctx, m365link.Mailbox{}, inbox), "sync: ResetFolder needs the mailbox's UserID")
}

// One response in ten of every mailbox, at random, is spoiled —
// truncated, garbled, a dropped connection, a 503 without Retry-After, a
// 504 — and one request meets seven such faults in a row; every mailbox
// still finishes in one pass with the default retry budget.
func TestTenPercentFaultyResponsesConvergeInOnePass(t *testing.T) {
	const n = 8
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 150, Vendors: 3, Seed: 33})
	kinds := []fakegraph.FaultKind{fakegraph.TruncatedBody, fakegraph.MalformedJSON, fakegraph.ConnReset, fakegraph.Unavailable503, fakegraph.GatewayTimeout504}
	for i := range n {
		h.folderID(t, i, "inbox") // ask the fake before it misbehaves
		h.folderID(t, i, "sentitems")
	}
	rnd := rand.New(rand.NewPCG(33, 1))
	spoiled := 0
	for i := range n {
		// Seven faults in a row on one request (more than the old budget
		// of six attempts), one in ten at random elsewhere (kept apart
		// from the burst so that no request meets more than nine).
		at := 3 + rnd.IntN(10)
		kind := kinds[i%len(kinds)]
		if kind == fakegraph.GatewayTimeout504 {
			kind = fakegraph.TruncatedBody // seven 504s are a page size problem, halved away
		}
		h.fg.Inject(fakegraph.Fault{Kind: kind, Mailbox: h.mailbox(i).UserID, Skip: at, Times: 7})
		for k := range 400 {
			if k >= at-2 && k < at+9 {
				continue
			}
			if rnd.IntN(10) == 0 {
				h.fg.Inject(fakegraph.Fault{Kind: kinds[rnd.IntN(len(kinds))], Mailbox: h.mailbox(i).UserID, Skip: k, Times: 1})
				spoiled++
			}
		}
	}
	cfg := h.config(nil, nil)
	// The default number of attempts, quick waits; one request at a time,
	// so that the faults land where they were put.
	cfg.Client = h.client(graphclient.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MinRetryAfter: time.Millisecond})
	cfg.Schedule.FolderConcurrency = 1
	e := h.engine(t, cfg)
	for i := range n {
		require.NoError(t, e.SyncOnce(context.Background(), h.mailbox(i)), h.mailbox(i).UPN)
		h.assertMirror(t, i)
		assert.GreaterOrEqual(t, h.fg.Stats(h.mailbox(i).UserID).Requests, 20)
	}
	t.Logf("%d of %d requests' slots spoiled", spoiled, n*400)
}

// A failed pass is logged once, at Warn, with the mailbox, the failed
// folder and the typed cause; a refused foreign link is logged with the
// folder but never the link's query.
func TestFailedPassIsLoggedOnce(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	inbox := h.folderID(t, 0, "inbox")
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.ForeignNextLink, Route: inbox, Mailbox: mb.UserID, Times: 1})
	var buf bytes.Buffer
	cfg := h.config(nil, nil)
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	require.Error(t, h.engine(t, cfg).SyncOnce(context.Background(), mb))
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		lines = append(lines, l[:strings.Index(l, " error=")])
	}
	who := `mailbox.tenant=` + mb.TenantID + ` mailbox.id=` + mb.UserID + ` mailbox.upn=` + mb.UPN
	assert.Equal(t, []string{
		`level=WARN msg="sync: page refused: link to another origin" ` + who + ` folder=` + inbox,
		`level=WARN msg="sync: pass failed" ` + who + ` folders="inbox (` + inbox + `)" cause="untrusted link"`,
	}, lines)
	assert.NotContains(t, buf.String(), "skiptoken")
	assert.NotContains(t, buf.String(), "deltatoken")
}

// Requests: a first pass over Inbox and Sent Items costs its pages and one
// $batch that looks both folders up; a pass with no changes costs one
// request per folder (the folders come from the saved status), in a new
// engine too.
func TestRequestsPerPass(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 2500, Vendors: 3, Seed: 34})
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg = m365sync.WithTestPaging(cfg, 1000, 0)
	e := h.engine(t, cfg)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	c := e.Counters()
	assert.Equal(t, c.Pages+1, c.Requests, "pages + 1")
	h.assertMirror(t, 0)

	for range 2 {
		e = h.engine(t, cfg)
		require.NoError(t, e.SyncOnce(ctx, mb))
		// Both folders' next pages in one $batch: one request for the pass.
		assert.Equal(t, m365sync.Counters{Pages: 2, Requests: 1}, e.Counters(), "one request for both folders")
	}
}

// State saved by earlier versions — cursors and statuses as JSON without a
// format version, as sync/syncsql kept them — loads as it is: the next
// pass is incremental, nothing resynced.
func TestStateOfEarlierVersionsLoads(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	ctx := context.Background()
	require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(ctx, mb))
	inbox, sent := h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")
	for _, key := range []string{"f:" + inbox, "f:" + sent, ""} {
		b, err := h.state.Load(ctx, mb.Key(), key)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		require.Equal(t, float64(2), m["v"])
		delete(m, "v")
		delete(m, "resolved") // earlier versions kept no folder set
		old, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, h.state.Save(ctx, mb.Key(), key, old))
	}
	h.add(0, "inbox", fakegraph.Message{Subject: "after the upgrade"})
	e := h.engine(t, h.config(nil, nil))
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0)
	c := e.Counters()
	assert.Equal(t, m365sync.Counters{Items: 1, Pages: 2, Requests: 2}, c, "the folders looked up once ($batch), then both incremental pages in one $batch")
	assert.Empty(t, h.sink.resets)
}

// One Graph client shared between the engine and another caller — here
// the plain client hosts hand to msgraph-sdk-go, firing at the same
// mailbox while a pass runs with four folders at once — never puts more
// than 4 requests in flight for that mailbox at the fake, which refuses
// the fifth with a 429.
func TestSharedClientLimitsTheMailboxAcrossCallers(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 300, Vendors: 3, Seed: 35},
		fakegraph.WithLimits(fakegraph.Limits{MaxConcurrent: 4}))
	mb := h.mailbox(0)
	synced := []string{h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")}
	for i := range 3 {
		f := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: fmt.Sprintf("Vendor %d", i), ParentID: "inbox"})
		synced = append(synced, f.ID)
		for k := range 40 {
			h.add(0, f.ID, fakegraph.Message{Subject: fmt.Sprintf("filed %d.%d", i, k)})
		}
	}
	for _, id := range synced {
		h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 5 * time.Millisecond, Route: id, Mailbox: mb.UserID}) // slow pages overlap
	}
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 5 * time.Millisecond, Route: "mailFolders/inbox", Mailbox: mb.UserID})
	cfg := h.config(nil, nil)
	cfg.ChildFolders, cfg.Schedule.FolderConcurrency = true, 4
	e := h.engine(t, cfg)

	other := cfg.Client.HTTPClient() // another package's calls, same limiter
	stop := make(chan struct{})
	var wg gosync.WaitGroup
	var calls, refused atomic.Int64
	for range 6 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, h.fg.URL()+"/users/"+mb.UserID+"/mailFolders/inbox?$select=id", nil)
				req.Header.Set("Authorization", "Bearer test")
				resp, err := other.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				calls.Add(1)
				if resp.StatusCode == http.StatusTooManyRequests {
					refused.Add(1)
				}
			}
		})
	}
	err := e.SyncOnce(context.Background(), mb)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	h.assertMirror(t, 0, synced...)
	st := h.fg.Stats(mb.UserID)
	assert.LessOrEqual(t, st.MaxInFlight, 4)
	assert.Zero(t, st.Throttled, "the fake never had to refuse a fifth request")
	assert.Zero(t, refused.Load())
	assert.Positive(t, calls.Load())
	assert.Zero(t, e.Counters().Throttled)
}
