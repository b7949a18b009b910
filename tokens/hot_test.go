package tokens

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

// TestClaimReleaseLeavesAnotherHoldersClaim: while the refresh ran, the
// claim was deleted (Manager.Disconnect) and another process took a new
// one, which restarted the entry's versions at the one this holder had.
// Releasing must not clobber it: only the holder's own claim is released.
func TestClaimReleaseLeavesAnotherHoldersClaim(t *testing.T) {
	ctx := context.Background()
	st := &Memory{}
	acct := m365link.Account{TenantID: "t1", UserID: "u1"}
	key := Key{Account: acct, Purpose: purposeClaim}
	c := claimer{store: st, account: acct, owner: "process-a", ttl: time.Minute, log: slog.New(slog.DiscardHandler)}
	theirs := claim{Owner: "process-b", Hold: "their-hold", Until: time.Now().Add(time.Minute).UnixMilli()}

	err := c.withClaim(ctx, func() error {
		e, err := st.Get(ctx, key)
		require.NoError(t, err)
		require.Equal(t, int64(1), e.Version)
		require.NoError(t, st.Delete(ctx, key))
		b, _ := json.Marshal(theirs)
		v, err := st.Put(ctx, key, b, 0)
		require.NoError(t, err)
		require.Equal(t, int64(1), v, "the same version this holder's claim had")
		return nil
	})
	require.NoError(t, err)

	e, err := st.Get(ctx, key)
	require.NoError(t, err)
	var got claim
	require.NoError(t, json.Unmarshal(e.Data, &got))
	assert.Equal(t, theirs, got)
	assert.Equal(t, int64(1), e.Version, "not written by the release")
}

// TestClaimIsRenewedAndReleased: a holder keeps its claim alive past its
// TTL while fn runs and releases it afterwards.
func TestClaimIsRenewedAndReleased(t *testing.T) {
	ctx := context.Background()
	st := &Memory{}
	acct := m365link.Account{TenantID: "t1", UserID: "u1"}
	key := Key{Account: acct, Purpose: purposeClaim}
	c := claimer{store: st, account: acct, owner: "process-a", ttl: 150 * time.Millisecond, log: slog.New(slog.DiscardHandler)}
	read := func() (claim, int64) {
		e, err := st.Get(ctx, key)
		require.NoError(t, err)
		var cl claim
		require.NoError(t, json.Unmarshal(e.Data, &cl))
		return cl, e.Version
	}
	var during claim
	var readAt int64
	require.NoError(t, c.withClaim(ctx, func() error {
		time.Sleep(4 * c.ttl)
		readAt = time.Now().UnixMilli()
		during, _ = read()
		return nil
	}))
	// Compared with when it was read: the claim is released as soon as
	// the function returns, and a loaded machine may take a while to get
	// here.
	assert.Greater(t, during.Until, readAt, "still held after four TTLs")
	after, v := read()
	assert.Equal(t, claim{Owner: "process-a", Hold: during.Hold, Until: 0}, after, "released")
	assert.GreaterOrEqual(t, v, int64(1+3+1), "taken, renewed at least three times, released")
}
