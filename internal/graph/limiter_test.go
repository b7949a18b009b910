package graph

import (
	"context"
	gosync "sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimiterNeverExceedsConcurrencyPerMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Limits{})
		var inA, maxA, inB, maxB atomic.Int32
		track := func(in, mx *atomic.Int32) {
			n := in.Add(1)
			for {
				m := mx.Load()
				if n <= m || mx.CompareAndSwap(m, n) {
					break
				}
			}
		}
		var wg gosync.WaitGroup
		for i := range 60 {
			mb, in, mx := "A", &inA, &maxA
			if i%3 == 0 {
				mb, in, mx = "b", &inB, &maxB
			}
			wg.Go(func() {
				release, err := l.Acquire(t.Context(), mb, 1)
				require.NoError(t, err)
				track(in, mx)
				time.Sleep(100 * time.Millisecond)
				in.Add(-1)
				release()
			})
		}
		wg.Wait()
		assert.Equal(t, int32(4), maxA.Load())
		assert.Equal(t, int32(4), maxB.Load())
	})
}

func TestLimiterMailboxKeyIgnoresCase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Limits{Concurrency: 1})
		release, err := l.Acquire(t.Context(), "User-1", 1)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err = l.Acquire(ctx, "user-1", 1)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		release()
	})
}

func TestLimiterBatchTakesAllSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Limits{})
		release, err := l.Acquire(t.Context(), "a", 20)
		require.NoError(t, err)
		got := make(chan time.Time, 1)
		start := time.Now()
		go func() {
			r, err := l.Acquire(context.Background(), "a", 1)
			if err == nil {
				r()
			}
			got <- time.Now()
		}()
		time.Sleep(3 * time.Second)
		release()
		assert.Equal(t, 3*time.Second, (<-got).Sub(start))
	})
}

func TestLimiterRateBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 20 per 10 s with a burst of 5: 5 at once, then one every 2/3 s.
		l := NewLimiter(Limits{Requests: 20, Window: 10 * time.Second, Burst: 5})
		start := time.Now()
		var at []time.Duration
		for range 20 {
			r, err := l.Acquire(t.Context(), "a", 1)
			require.NoError(t, err)
			r()
			at = append(at, time.Since(start))
		}
		for i := range 5 {
			assert.Equal(t, time.Duration(0), at[i])
		}
		assert.InDelta(t, float64(10*time.Second), float64(at[19]), float64(time.Millisecond))
		// No window of 10 s holds more than 20 requests: the 21st waits.
		r, err := l.Acquire(t.Context(), "a", 1)
		require.NoError(t, err)
		r()
		assert.InDelta(t, float64(10*time.Second+666666667), float64(time.Since(start)), float64(time.Millisecond))
	})
}

func TestLimiterDefaultsStayBelowOutlookBudget(t *testing.T) {
	l := NewLimiter(Limits{}).Limits()
	assert.Equal(t, Limits{Concurrency: 4, Requests: 9500, Window: 10 * time.Minute, Burst: 500}, l)
	assert.Less(t, l.Requests, 10000)
}

func TestLimiterCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Limits{Concurrency: 1})
		release, err := l.Acquire(t.Context(), "a", 1)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := l.Acquire(ctx, "a", 1)
			done <- err
		}()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		release()
		r2, err := l.Acquire(t.Context(), "a", 1)
		require.NoError(t, err, "a cancelled waiter must not leak a slot")
		r2()
	})
}

// The limiter forgets a mailbox once a new entry would be the same: no
// request in flight, no throttle in force, its whole burst back. One with
// a request in flight, a throttle or a spent budget is kept.
func TestLimiterDropsIdleMailboxes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Limits{Requests: 100, Burst: 50, Window: 10 * time.Minute}) // refills 50 in 10 minutes
		for i := range 100 {
			release, err := l.Acquire(t.Context(), "idle-"+string(rune('a'+i%26))+string(rune('a'+i/26)), 1)
			require.NoError(t, err)
			release()
		}
		busy, err := l.Acquire(t.Context(), "busy", 1)
		require.NoError(t, err)
		l.Throttle("throttled", time.Now().Add(5*time.Minute))
		for range 20 {
			release, err := l.Acquire(t.Context(), "spent", 1)
			require.NoError(t, err)
			release()
		}
		require.Equal(t, 103, l.Mailboxes())

		time.Sleep(2 * time.Minute) // the idle ones' single token is back; "spent" lacks 20-10
		release, err := l.Acquire(t.Context(), "new", 1)
		require.NoError(t, err)
		release()
		assert.Equal(t, 4, l.Mailboxes(), "busy, throttled, spent and new remain")
		assert.Equal(t, time.Now().Add(3*time.Minute), l.ThrottledUntil("throttled"))
		assert.Zero(t, l.ThrottledUntil("idle-aa"), "a forgotten mailbox is not throttled")
		assert.Equal(t, 4, l.Mailboxes(), "ThrottledUntil makes no entry")

		busy()
		time.Sleep(10 * time.Minute)
		release, err = l.Acquire(t.Context(), "new", 1)
		require.NoError(t, err)
		assert.Equal(t, 1, l.Mailboxes(), "only the one in use")
		release()
	})
}
