package sync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// A mailbox of 16 folders: after the first sync, an idle pass asks for
// every folder's next page in one $batch request; a change rides in the
// same request; a folder whose item Graph answers 410 (or 429) fetches on
// its own and recovers; the sink stays equal to Graph throughout.
func TestIdlePassOfSixteenFoldersIsOneRequest(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 40, Vendors: 2, Seed: 21})
	mb := h.mailbox(0)
	var folders []string
	for i := range 10 {
		f := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: fmt.Sprint("Vendor ", i), ParentID: "inbox"})
		folders = append(folders, f.ID)
		h.add(0, f.ID, fakegraph.Message{Subject: fmt.Sprint("in folder ", i)})
	}
	cfg := h.config(nil, nil)
	cfg.Folders = m365sync.AllMailFolders
	ctx := context.Background()
	require.NoError(t, h.engine(t, cfg).SyncOnce(ctx, mb))
	st, _ := h.engine(t, cfg).LoadStatus(ctx, mb.Key())
	require.Len(t, st.Folders, 16) // 6 well-known folders and 10 children of the Inbox
	all := func() []string { return st.Folders }
	h.assertMirror(t, 0, all()...)

	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(ctx, mb))
	assert.Equal(t, m365sync.Counters{Pages: 16, Requests: 1}, e.Counters(), "an idle pass: one $batch")

	h.add(0, "inbox", fakegraph.Message{Subject: "new"})
	e = h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(ctx, mb))
	assert.Equal(t, m365sync.Counters{Items: 1, Pages: 16, Requests: 1}, e.Counters(), "a change comes in the same $batch")
	h.assertMirror(t, 0, all()...)

	// Graph loses one folder's sync state (its probe item answers 410: the
	// folder resyncs at once) and throttles another's item (it fetches on
	// its own).
	h.fg.DeleteMessage(mb.UserID, h.seed.Mailboxes[0].Inbox[0])
	h.add(0, folders[3], fakegraph.Message{Subject: "during the reset"})
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.SyncReset410, Route: folders[3], Mailbox: mb.UserID, Times: 1})
	h.fg.Inject(fakegraph.Fault{Kind: fakegraph.Throttle429, Route: folders[5], Mailbox: mb.UserID, Times: 1, RetryAfter: "0"})
	e = h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0, all()...)
	c := e.Counters()
	assert.Equal(t, int64(1), c.Resyncs)
	assert.Less(t, c.Requests, int64(8), "the batch, the two folders' own requests and the resync's")
}
