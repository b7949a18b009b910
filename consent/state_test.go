package consent

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStatesBound(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	m := &MemoryStates{Max: 3, now: func() time.Time { return clock }}
	issue := func(id string, ttl time.Duration) {
		t.Helper()
		state, err := m.Issue(ctx, Attempt{ID: id, Flow: FlowConnect, Expires: clock.Add(ttl)})
		require.NoError(t, err)
		require.Equal(t, id, state)
	}
	// Five attempts into room for three: the two closest to expiry go.
	issue("a", 5*time.Minute)
	issue("b", 1*time.Minute)
	issue("c", 9*time.Minute)
	issue("d", 2*time.Minute)
	issue("e", 8*time.Minute)
	assert.Equal(t, 3, m.pending.len())
	for _, id := range []string{"b", "d"} {
		_, err := m.Take(ctx, id)
		assert.ErrorIs(t, err, ErrStateNotFound, id)
	}
	a, err := m.Take(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, Attempt{ID: "a", Flow: FlowConnect, Expires: clock.Add(5 * time.Minute)}, a)

	// Expired attempts leave on the next Issue, without being taken.
	clock = clock.Add(10 * time.Minute)
	issue("f", time.Minute)
	assert.Equal(t, 1, m.pending.len())
	_, err = m.Take(ctx, "c")
	assert.ErrorIs(t, err, ErrStateNotFound)

	// Many attempts issued and taken keep the heap within its bound:
	// taken attempts do not pile up waiting for their expiry.
	for i := range 10000 {
		id := fmt.Sprint("x", i)
		issue(id, 10*time.Minute)
		_, err := m.Take(ctx, id)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, m.pending.len())
	assert.LessOrEqual(t, len(m.pending.h), 2*1+64)

	// The default bound applies to the zero value.
	var z MemoryStates
	for i := range DefaultMaxPending + 5 {
		_, err := z.Issue(ctx, Attempt{ID: fmt.Sprint(i), Expires: time.Now().Add(time.Hour)})
		require.NoError(t, err)
	}
	assert.Equal(t, DefaultMaxPending, z.pending.len())
	_, err = z.Issue(ctx, Attempt{})
	assert.EqualError(t, err, "consent: MemoryStates.Issue: the attempt has no ID")
}

func TestSignedStatesRemembersBoundedTakenStates(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s, err := NewSignedStates(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	s.now = func() time.Time { return clock }
	s.maxTaken = 2
	issue := func(id string) string {
		state, err := s.Issue(ctx, Attempt{ID: id, Flow: FlowConnect, Expires: clock.Add(10 * time.Minute)})
		require.NoError(t, err)
		return state
	}
	a, b, c := issue("a"), issue("b"), issue("c")
	_, err = s.Take(ctx, a)
	require.NoError(t, err)
	_, err = s.Take(ctx, a)
	assert.ErrorIs(t, err, ErrStateNotFound, "replay in the same process")
	_, err = s.Take(ctx, b)
	require.NoError(t, err)
	// Full: refuse rather than forget a taken state and accept its replay.
	_, err = s.Take(ctx, c)
	assert.Equal(t, errTooManyTaken, err)
	// Once the taken states expire they are forgotten (their replays fail
	// as expired anyway) and there is room again.
	clock = clock.Add(11 * time.Minute)
	_, err = s.Take(ctx, a)
	assert.ErrorIs(t, err, ErrStateNotFound)
	_, err = s.Take(ctx, issue("d"))
	require.NoError(t, err)
	assert.Equal(t, 1, s.taken.len())
}
