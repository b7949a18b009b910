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

// The folder presets: the whole mailbox, and the whole mailbox but Junk
// Email and Deleted Items with their subfolders.
func TestFolderPresets(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 36})
	mb := h.mailbox(0)
	vendors := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: "Vendors", ParentID: "inbox"}).ID
	trash := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: "Old", ParentID: "deleteditems"}).ID
	for _, f := range []string{vendors, trash, "junkemail", "deleteditems", "drafts", "archive"} {
		h.add(0, f, fakegraph.Message{Subject: "in " + f})
	}
	every := []string{h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems"), vendors, trash, h.folderID(t, 0, "junkemail"),
		h.folderID(t, 0, "deleteditems"), h.folderID(t, 0, "drafts"), h.folderID(t, 0, "archive")}
	ctx := context.Background()

	cfg := h.config(nil, nil)
	cfg.Folders = m365sync.AllMailFolders
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(ctx, mb))
	h.assertMirror(t, 0, every...)
	st, _ := e.Status(mb.Key())
	assert.ElementsMatch(t, every, st.Folders, "every folder, the root itself not")

	cfg.Folders = m365sync.AllButJunkAndDeleted
	e = h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(ctx, mb))
	kept := []string{h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems"), vendors, h.folderID(t, 0, "drafts"), h.folderID(t, 0, "archive")}
	h.assertMirror(t, 0, kept...)
	st, _ = e.Status(mb.Key())
	assert.ElementsMatch(t, kept, st.Folders)
	_, folder, ok := h.sink.Message(mb, h.live(t, 0, trash)[0])
	assert.False(t, ok, "the subfolder of Deleted Items was emptied, not kept (%s)", folder)
}

// Subfolders deeper than MaxFolderDepth are left out, and the status says
// below which folder.
func TestFolderDepthIsReported(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 0, Vendors: 1, Seed: 37})
	mb := h.mailbox(0)
	parent := "inbox"
	var ids []string
	for d := range m365sync.MaxFolderDepth + 2 {
		f := h.fg.AddFolder(mb.UserID, fakegraph.Folder{DisplayName: fmt.Sprint("L", d+1), ParentID: parent})
		h.add(0, f.ID, fakegraph.Message{Subject: fmt.Sprint("at level ", d+1)})
		parent = f.ID
		ids = append(ids, f.ID)
	}
	cfg := h.config(nil, nil)
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox", Children: true}}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	synced := append([]string{h.folderID(t, 0, "inbox")}, ids[:m365sync.MaxFolderDepth]...)
	h.assertMirror(t, 0, synced...)
	st, _ := e.Status(mb.Key())
	assert.Equal(t, synced, st.Folders)
	assert.Equal(t, "subfolders deeper than 10 levels not synced, below: inbox/L1/L2/L3/L4/L5/L6/L7/L8/L9/L10", st.Reason)
	// A pass from the cached folder set says so too.
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	st, _ = e.Status(mb.Key())
	assert.Equal(t, "subfolders deeper than 10 levels not synced, below: inbox/L1/L2/L3/L4/L5/L6/L7/L8/L9/L10", st.Reason)
}
