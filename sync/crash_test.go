package sync_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

var crashSpec = fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 45, Vendors: 3, Seed: 7}

// changeMailbox makes every kind of change to mailbox 0 between passes: a
// new message, an edit, a deletion, moves between the synced folders both
// ways, and a move out of them.
func changeMailbox(h *harness, round int) {
	u := h.seed.Mailboxes[0].User.ID
	inbox, sent := h.seed.Mailboxes[0].Inbox, h.seed.Mailboxes[0].SentItems
	k := 5 * round
	h.add(0, "inbox", fakegraph.Message{Subject: fmt.Sprintf("new in round %d", round)})
	h.fg.UpdateMessage(u, inbox[k+1], func(m *fakegraph.Message) { m.Subject = fmt.Sprintf("edited in round %d", round) })
	h.fg.DeleteMessage(u, inbox[k+2])
	h.fg.MoveMessage(u, inbox[k+3], "sentitems")
	h.fg.MoveMessage(u, sent[k+4], "inbox")
	h.fg.MoveMessage(u, inbox[k+4], "archive")
}

// Kill the engine at each boundary of each page — after the page was
// fetched, after the sink committed it, after its cursor was saved, or by
// cancelling its context — in a first sync and in a later pass with
// deletions and moves, with one folder at a time and two. Restart it: the
// sink must hold every live message exactly once, in its current folder,
// and a later pass must still be exact.
func TestCrashAtEveryBoundary(t *testing.T) {
	boundaries := []string{"page fetched", "sink committed", "cursor saved", "context cancelled"}
	for _, phase := range []string{"initial", "incremental"} {
		for _, conc := range []int{1, 2} {
			// prepare builds a harness ready for the pass under test.
			prepare := func(t *testing.T) *harness {
				h := newHarness(t, crashSpec)
				if phase == "incremental" {
					require.NoError(t, h.engine(t, h.config(nil, nil)).SyncOnce(context.Background(), h.mailbox(0)))
					changeMailbox(h, 0)
				}
				return h
			}
			// A clean run counts the boundaries there are.
			probe := prepare(t)
			pSink := &crashSink{Sink: probe.sink}
			pState := &crashState{StateStore: probe.state}
			pCfg := probe.config(pSink, pState)
			pCfg.Schedule.FolderConcurrency = conc
			progress := 0
			pCfg.OnProgress = func(m365sync.Status) { progress++ }
			require.NoError(t, probe.engine(t, pCfg).SyncOnce(context.Background(), probe.mailbox(0)))
			probe.assertMirror(t, 0)
			count := map[string]int{"page fetched": pSink.calls, "sink committed": pSink.calls, "cursor saved": pState.saves, "context cancelled": progress}
			if phase == "initial" {
				// 3 pages of Inbox and 2 of Sent Items; a status at the
				// start, after each page, and at the end.
				assert.Equal(t, map[string]int{"page fetched": 5, "sink committed": 5, "cursor saved": 7, "context cancelled": 7}, count)
			}

			for _, boundary := range boundaries {
				for n := 1; n <= count[boundary]; n++ {
					t.Run(fmt.Sprintf("%s/folders=%d/%s/%d", phase, conc, boundary, n), func(t *testing.T) {
						h := prepare(t)
						mb := h.mailbox(0)
						sink := &crashSink{Sink: h.sink}
						state := &crashState{StateStore: h.state}
						cfg := h.config(sink, state)
						cfg.Schedule.FolderConcurrency = conc
						ctx, cancel := context.WithCancel(context.Background())
						defer cancel()
						switch boundary {
						case "page fetched":
							sink.failAt = n
						case "sink committed":
							sink.failAt, sink.after = n, true
						case "cursor saved":
							state.failAt = n
						case "context cancelled":
							seen := 0
							cfg.OnProgress = func(m365sync.Status) {
								if seen++; seen == n {
									cancel()
								}
							}
						}
						err := h.engine(t, cfg).SyncOnce(ctx, mb)
						if boundary == "context cancelled" {
							// Cancelled at the very end, the pass has nothing left to do.
							assert.True(t, err == nil || errors.Is(err, context.Canceled), err)
						} else {
							require.ErrorIs(t, err, errInjected, "the crash must happen")
						}

						// Restart: a new engine on the same sink and state.
						restarted := h.engine(t, h.config(nil, nil))
						require.NoError(t, restarted.SyncOnce(context.Background(), mb))
						h.assertMirror(t, 0)
						for id := range h.liveFolders(t, 0) {
							assert.GreaterOrEqual(t, h.sink.upsertCount(id), 1, id)
						}
						// A later pass after more changes is still exact.
						changeMailbox(h, 1)
						require.NoError(t, restarted.SyncOnce(context.Background(), mb))
						h.assertMirror(t, 0)
						assert.Zero(t, h.sink.overlapCount())
					})
				}
			}
		}
	}
}
