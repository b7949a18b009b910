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
