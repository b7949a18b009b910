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

// Kill the engine at each boundary of each page — after the page was
// fetched, after the sink committed it, after its cursor was saved — then
// restart it; the sink must end with every message exactly once by ID.
func TestCrashAtEveryBoundary(t *testing.T) {
	spec := fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 45, Vendors: 3, Seed: 7}
	// A clean run counts the boundaries there are.
	probe := newHarness(t, spec)
	pSink := &errSink{MemorySink: probe.sink}
	pState := &errState{MemoryState: probe.state}
	pCfg := probe.config(pSink, pState)
	progress := 0
	pCfg.OnProgress = func(m365sync.Status) { progress++ }
	require.NoError(t, probe.engine(t, pCfg).SyncOnce(context.Background(), probe.mailbox(0)))
	count := map[string]int{"page fetched": pSink.calls, "sink committed": pSink.calls, "cursor saved": pState.saves, "context cancelled": progress}
	assert.Equal(t, map[string]int{"page fetched": 5, "sink committed": 5, "cursor saved": 5, "context cancelled": 6}, count)

	for _, boundary := range []string{"page fetched", "sink committed", "cursor saved", "context cancelled"} {
		for n := 1; n <= count[boundary]; n++ {
			t.Run(fmt.Sprintf("%s/%d", boundary, n), func(t *testing.T) {
				h := newHarness(t, spec)
				mb := h.mailbox(0)
				sink := &errSink{MemorySink: h.sink}
				state := &errState{MemoryState: h.state}
				cfg := h.config(sink, state)
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
					// Cancelled after a folder's last save, the pass may still
					// finish: only the deferred removals (none here) remained.
					assert.True(t, err == nil || errors.Is(err, context.Canceled), err)
				} else {
					require.ErrorIs(t, err, errInjected, "the crash must happen")
				}

				// Restart: a new engine on the same sink and state.
				restarted := h.engine(t, h.config(h.sink, h.state))
				require.NoError(t, restarted.SyncOnce(context.Background(), mb))
				assert.Equal(t, h.live(0), h.sink.IDs(mb))
				// A later round after more changes is still exact.
				u := h.seed.Mailboxes[0].User
				h.fg.DeleteMessage(u.ID, h.seed.Mailboxes[0].Inbox[0])
				h.add(0, "inbox", fakegraph.Message{Subject: "after the crash"})
				require.NoError(t, restarted.SyncOnce(context.Background(), mb))
				assert.Equal(t, h.live(0), h.sink.IDs(mb))
			})
		}
	}
}
