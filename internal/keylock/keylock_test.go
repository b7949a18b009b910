package keylock

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOneHolderPerKey(t *testing.T) {
	var m Map
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := m.Lock(context.Background(), "k")
			if !assert.NoError(t, err) {
				return
			}
			n := inside.Add(1)
			for {
				old := most.Load()
				if n <= old || most.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), most.Load())
	assert.Empty(t, m.locks, "no lock is kept once no one holds or waits")
}

func TestOtherKeysDoNotWait(t *testing.T) {
	var m Map
	unlock, err := m.Lock(t.Context(), "a")
	require.NoError(t, err)
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	unlockB, err := m.Lock(ctx, "b")
	require.NoError(t, err)
	unlockB()
}

func TestWaitEndsWithTheContext(t *testing.T) {
	var m Map
	unlock, err := m.Lock(t.Context(), "a")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = m.Lock(ctx, "a")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	unlock()
	assert.Empty(t, m.locks)
}
