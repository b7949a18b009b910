package sync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

func TestInitialThenIncremental(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 60, Vendors: 3, Seed: 1})
	e := h.engine(t, h.config(nil, nil))
	mb := h.mailbox(0)
	ctx := context.Background()
	require.NoError(t, e.SyncOnce(ctx, mb))
	assert.Equal(t, h.live(0), h.sink.IDs(mb))
	st, _ := e.Status(mb.Key())
	assert.Equal(t, m365sync.StateIdle, st.State)
	assert.Equal(t, len(h.live(0)), st.Items)
	assert.Equal(t, len(h.live(0)), st.Estimate)

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
	assert.Equal(t, h.live(0), h.sink.IDs(mb))
	_, _, ok := h.sink.Message(mb, fresh)
	assert.True(t, ok)
	m, _, _ := h.sink.Message(mb, inbox[1])
	assert.Equal(t, "edited", m.Subject)
	_, folder, ok := h.sink.Message(mb, inbox[3])
	require.True(t, ok, "a move between synced folders keeps the message")
	assert.Equal(t, folderIDOf(h, u.ID, "sentitems"), folder)
	_, removedAfter, _ := h.sink.Counts()
	assert.Equal(t, 2, removedAfter-removedBefore, "the delete and the move out; the move between synced folders is no removal")
}
