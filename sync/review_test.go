package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// vendorsHarness: a mailbox with an Inbox/Vendors folder holding 25 messages.
func vendorsHarness(t *testing.T) (*harness, string) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 31})
	mb := h.mailbox(0)
	vendors := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: "Vendors", ParentID: "inbox"}).ID
	for i := range 25 {
		h.add(0, vendors, fakegraph.Message{Subject: fmt.Sprintf("filed %d", i)})
	}
	return h, vendors
}

// The only configured folder is deleted: none is left to sync, and what
// the sink held of it is emptied all the same.
func TestOnlyFolderDeletedIsEmptied(t *testing.T) {
	h, vendors := vendorsHarness(t)
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{Path: "Inbox/Vendors"}}
	e := h.engine(t, cfg)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	require.Len(t, h.sink.IDs(mb), 25)
	h.fg.DeleteFolder(mb.UserID, vendors)
	var causes []string
	for range 2 {
		causes = append(causes, m365sync.Cause(e.SyncOnce(ctx, mb)))
	}
	// The cached folder answers 404; looked up again, it is gone.
	assert.Equal(t, []string{"not found", "not found"}, causes)
	assert.Empty(t, h.sink.IDs(mb), "ghosts of a deleted folder")
	assert.Contains(t, h.sink.resets, m365sync.Reset{Mailbox: mb, FolderID: vendors, Phase: m365sync.ResetEnd, Generation: m365sync.DropGeneration})
}

// dropCrashSink commits a DropGeneration sweep, then reports an error
// (or the process dies right after it).
type dropCrashSink struct {
	m365sync.Sink
	armed bool
}

func (s *dropCrashSink) Reset(ctx context.Context, r m365sync.Reset) error {
	if err := s.Sink.Reset(ctx, r); err != nil {
		return err
	}
	if s.armed && r.Generation == m365sync.DropGeneration {
		s.armed = false
		return errInjected
	}
	return nil
}

// A folder is dropped (configuration change) and the process dies right
// after the sink emptied it; the folder comes back (configuration
// reverted): it syncs again from scratch, nothing lost.
func TestDroppedFolderComesBackAfterCrash(t *testing.T) {
	h, vendors := vendorsHarness(t)
	mb := h.mailbox(0)
	ctx := context.Background()
	both := h.config(nil, nil)
	both.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}, {Path: "Inbox/Vendors"}}
	require.NoError(t, h.engine(t, both).SyncOnce(ctx, mb))
	inbox := h.folderID(t, 0, "inbox")
	h.assertMirror(t, 0, inbox, vendors)

	one := h.config(&dropCrashSink{Sink: h.sink, armed: true}, nil)
	one.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	require.ErrorIs(t, h.engine(t, one).SyncOnce(ctx, mb), errInjected)

	e := h.engine(t, both)
	for range 3 {
		require.NoError(t, e.SyncOnce(ctx, mb))
	}
	h.assertMirror(t, 0, inbox, vendors)
}

// Whether a filtered full round was capped is judged on the messages the
// window held when the round started (counted then), not on a folder
// total cached an hour ago: a folder that grew past the cap loses nothing.
func TestGrownFolderStillMeetsTheCap(t *testing.T) {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 2, Seed: 6}, fakegraph.WithFilteredDeltaCap(130))
	for i := range 120 {
		h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("in %d", i), ReceivedDateTime: start.Add(time.Duration(i) * time.Hour)})
	}
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.Window = m365sync.Window{Start: start}
	cfg = m365sync.WithTestPaging(cfg, 0, 130)
	e := h.engine(t, cfg)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb)) // Total 120 cached
	for i := range 20 {
		h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("new %d", i), ReceivedDateTime: start.Add(time.Duration(300+i) * time.Hour)})
	}
	require.NoError(t, e.SyncOnce(ctx, mb))
	require.Len(t, h.sink.IDs(mb), 140)
	// Graph discards the sync state: a filtered full round, which Graph caps at 130.
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.SyncReset410, Route: "messages/delta", Mailbox: mb.UserID, Times: 1})
	require.NoError(t, e.SyncOnce(ctx, mb))
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
}

// A message moved from the Inbox into Sent Items while Sent Items fails:
// the Inbox's removal waits while the pass that tries Sent Items fails, so
// the move stays an update.
func TestMoveIntoAFailingFolder(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 32})
	mb := h.mailbox(0)
	inbox, sent := h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")
	cfg := h.config(nil, nil)
	cfg.Client = h.client(retryAttempts(2))
	e := h.engine(t, cfg)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	id := h.live(t, 0, inbox)[0]
	h.fg.MoveMessage(mb.UserID, id, "sentitems")
	stop := h.fg.Inject(fakegraph.Fault{Kind: fakegraph.MalformedJSON, Route: sent, Mailbox: mb.UserID})
	for range 2 {
		assert.Equal(t, "malformed response", m365sync.Cause(e.SyncOnce(ctx, mb)))
		_, folder, held := h.sink.Message(mb, id)
		assert.True(t, held)
		assert.Equal(t, inbox, folder, "where the sink last saw it")
	}
	stop()
	for i := 0; ; i++ { // Sent Items may be backing off: its next try ends it
		require.Less(t, i, 4)
		if e.SyncOnce(ctx, mb) == nil {
			break
		}
	}
	h.assertMirror(t, 0)
}

// A folder backing off costs no request in the passes that leave it
// alone, not even the count of its window.
func TestBackoffFolderCostsNothing(t *testing.T) {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 2, Seed: 6})
	for i := range 20 {
		h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("in %d", i), ReceivedDateTime: start.Add(time.Duration(i) * time.Hour)})
	}
	mb := h.mailbox(0)
	inbox := h.folderID(t, 0, "inbox")
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.MalformedJSON, Route: "/mailFolders/" + inbox + "/messages/delta", Mailbox: mb.UserID})
	cfg := h.config(nil, nil)
	cfg.Client = h.client(retryAttempts(1))
	cfg.Window = m365sync.Window{Start: start}
	e := h.engine(t, cfg)
	ctx := context.Background()
	counts := 0
	for range 6 {
		before := len(h.fg.Requests())
		err := e.SyncOnce(ctx, mb)
		n := 0
		for _, r := range h.fg.Requests()[before:] {
			if strings.Contains(r.Path, inbox) && strings.HasSuffix(r.Path, "/messages") {
				n++
			}
		}
		if m365sync.Cause(err) == "backing off" {
			counts += n
		}
	}
	assert.Zero(t, counts, "requests for a folder that is backing off")
}

// An unreadable cursor (damaged in the host's store) starts its folder
// over with a round that sweeps, under a generation above every one the
// sink holds: a message deleted meanwhile leaves no ghost.
func TestUnreadableCursorSweeps(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	e := h.engine(t, cfg)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.fg.InvalidateDeltaTokens(mb.UserID)
	require.NoError(t, e.SyncOnce(ctx, mb)) // a resync: generation 2
	inbox := h.folderID(t, 0, "inbox")
	require.NoError(t, h.state.Save(ctx, mb.Key(), "f:"+inbox, []byte("{not json")))
	gone := deleteHeld(t, h, inbox, 1)
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0, inbox)
	_, _, ok := h.sink.Message(mb, gone[0])
	assert.False(t, ok)
	last := h.sink.resets[len(h.sink.resets)-1]
	assert.Equal(t, m365sync.ResetEnd, last.Phase)
	assert.Greater(t, last.Generation, int64(2))
}

// An unreadable mailbox record loses the list of folders synced before;
// with a store that can list its keys, it is rebuilt from the cursors, so
// a folder dropped from the configuration is still emptied.
func TestUnreadableRecordStillDropsFolders(t *testing.T) {
	h := newHarness(t, crashSpec)
	mb := h.mailbox(0)
	ctx := context.Background()
	require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(ctx, mb))
	require.NoError(t, h.state.Save(ctx, mb.Key(), "", []byte("garbage")))
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	require.NoError(t, h.engine(t, cfg).SyncOnce(ctx, mb))
	h.assertMirror(t, 0, h.folderID(t, 0, "inbox"))
}

// A Config whose Client was not made by graphclient.New is refused.
func TestZeroClientIsRefused(t *testing.T) {
	h := newHarness(t, crashSpec)
	cfg := h.config(nil, nil)
	cfg.Client = &graphclient.Client{}
	_, err := m365sync.New(cfg)
	assert.EqualError(t, err, "sync: invalid Config: Client was not made by graphclient.New")
	assert.Equal(t, "graphclient.Client{not made by New}", cfg.Client.String())
	assert.True(t, cfg.Client.ThrottledUntil("x").IsZero())
}
