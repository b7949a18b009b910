package calendar_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
)

// review2122: keys with OData-special characters survive the $filter.
func TestReview2122KeysWithSpecialCharacters(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	for _, k := range []string{"o'brien's", "a&b=c", "x+y z", "50%#?/", `q"uo\te`, "ünï"} {
		ev, err := create(t, e, k)
		require.NoError(t, err, k)
		e.fake.Inject(fakegraph.Fault{Route: "/calendar/events", Method: "POST", Kind: fakegraph.AppliedThen503, RetryAfter: "1", Times: 1})
		again, err := create(t, e, k)
		require.NoError(t, err, k)
		assert.Equal(t, ev.ID, again.ID, k)
	}
	assert.Len(t, e.events(t, e.alice.ID), 6)
}
