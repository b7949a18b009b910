package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// Engines sharing a LeaseBalancer (MemoryLeases, in one process) own
// their share of the mailboxes: three own four each of twelve; one that
// stops releases its mailboxes at once and the other two take them; one
// that joins gets its share. The sink never sees two calls for one
// mailbox at once and ends equal to Graph.
func TestRunBalancesMailboxesAcrossEngines(t *testing.T) {
	const n = 12
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: n, MessagesPerMailbox: 6, Vendors: 2, Seed: 63})
	leases := &m365sync.MemoryLeases{}
	ttl := 3 * time.Second
	beat, _, _ := m365sync.BalanceTimesForTest(ttl)
	type engine struct {
		e      *m365sync.Engine
		cancel context.CancelFunc
		done   chan error
	}
	engines := map[string]*engine{}
	start := func(name string) {
		cfg := h.config(nil, nil)
		cfg.Leases, cfg.Policy = leases, m365sync.Policy{AllMailboxes: true}
		cfg.Schedule.Owner, cfg.Schedule.Interval, cfg.Schedule.Workers = name, 50*time.Millisecond, 2
		ctx, cancel := context.WithCancel(context.Background())
		en := &engine{e: h.engine(t, m365sync.WithTestLeaseTTL(cfg, ttl)), cancel: cancel, done: make(chan error, 1)}
		go func() { en.done <- en.e.Run(ctx) }()
		engines[name] = en
	}
	stop := func(name string) {
		engines[name].cancel()
		require.ErrorIs(t, <-engines[name].done, context.Canceled)
		delete(engines, name)
	}
	t.Cleanup(func() {
		for name := range engines {
			stop(name)
		}
	})
	// owned is what each running engine owns, by its Summary.
	owned := func() map[string]int {
		out := map[string]int{}
		for name, en := range engines {
			out[name] = en.e.Summary().Owned
		}
		return out
	}
	// held is how many leases each engine holds, by the store (Renew
	// extends only the owner's own: it changes no hands).
	var keys []string
	for i := range n {
		keys = append(keys, h.mailbox(i).Key())
	}
	held := func() map[string]int {
		out := map[string]int{}
		for name := range engines {
			mine, err := leases.Renew(context.Background(), name, keys, ttl)
			require.NoError(t, err)
			out[name] = len(mine)
		}
		return out
	}
	balanced := func(want map[string]int) func() bool {
		return func() bool { return assert.ObjectsAreEqual(want, owned()) }
	}

	for _, name := range []string{"A", "B", "C"} {
		start(name)
	}
	require.Eventually(t, balanced(map[string]int{"A": 4, "B": 4, "C": 4}), 10*beat, 10*time.Millisecond)
	assert.Equal(t, map[string]int{"A": 4, "B": 4, "C": 4}, held())

	t0 := time.Now()
	stop("C") // releases its four and leaves: A and B take them at their next beat
	require.Eventually(t, balanced(map[string]int{"A": 6, "B": 6}), 10*beat, 10*time.Millisecond)
	assert.Less(t, time.Since(t0), ttl, "taken before C's leases would have expired")
	assert.Equal(t, map[string]int{"A": 6, "B": 6}, held())

	start("D")
	require.Eventually(t, balanced(map[string]int{"A": 4, "B": 4, "D": 4}), 10*beat, 10*time.Millisecond)
	assert.Equal(t, map[string]int{"A": 4, "B": 4, "D": 4}, held())

	ids := make([]string, n)
	for i := range n {
		ids[i] = h.add(i, "inbox", fakegraph.Message{Subject: "after the moves"})
	}
	require.Eventually(t, func() bool {
		for i, id := range ids {
			if _, _, ok := h.sink.Message(h.mailbox(i), id); !ok {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "every owner syncs its mailboxes")
	for i := range n {
		h.assertMirror(t, i)
	}
	assert.Zero(t, h.sink.overlapCount(), "no mailbox synced by two engines at once")
}
