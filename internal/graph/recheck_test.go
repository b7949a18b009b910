package graph

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

// A create whose answer was lost (a 500 a plain POST would not retry, a
// 503) is not sent again once Recheck finds that it took effect.
func TestRecheckEndsTheCallWhenTheWriteLanded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{Backoff: doubling},
			step{status: 500, body: `{"error":{"code":"InternalServerError","message":"x"}}`},
			step{status: 201, body: `{"id":"e1"}`})
		checks := 0
		err := c.JSON(t.Context(), &Request{Method: "POST", Path: "/users/u1/events", Body: map[string]string{}, Token: tok,
			Recheck: func(context.Context) (bool, error) { checks++; return true, nil }}, nil)
		require.NoError(t, err)
		assert.Equal(t, 1, s.count())
		assert.Equal(t, 1, checks)
	})
}

func TestRecheckLetsTheCallResendWhenNothingLanded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{Backoff: doubling},
			step{status: 503, body: `{"error":{"code":"ServiceNotAvailable","message":"x"}}`},
			step{err: errors.New("connection reset")},
			step{status: 201, body: `{"id":"e1"}`})
		checks := 0
		var out struct{ ID string }
		err := c.JSON(t.Context(), &Request{Method: "POST", Path: "/users/u1/events", Body: map[string]string{}, Token: tok,
			Recheck: func(context.Context) (bool, error) { checks++; return false, nil }}, &out)
		require.NoError(t, err)
		assert.Equal(t, 3, s.count())
		assert.Equal(t, 2, checks)
		assert.Equal(t, "e1", out.ID)
	})
}

func TestRecheckErrorEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{Backoff: doubling},
			step{status: 503, body: `{"error":{"code":"ServiceNotAvailable","message":"x"}}`},
			step{status: 201, body: `{"id":"e1"}`})
		boom := errors.New("recheck failed")
		err := c.JSON(t.Context(), &Request{Method: "POST", Path: "/users/u1/events", Body: map[string]string{}, Token: tok,
			Recheck: func(context.Context) (bool, error) { return false, boom }}, nil)
		require.ErrorIs(t, err, boom)
		assert.Equal(t, 1, s.count())
		assert.False(t, errors.Is(err, m365link.ErrUnavailable))
	})
}
