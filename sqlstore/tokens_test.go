package sqlstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
	"github.com/m365link/m365link/tokens/tokenstest"
)

func TestTokensContract(t *testing.T) {
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			tokenstest.Run(t, func(t *testing.T) tokens.Store { return be.db(t).newStore(t).Tokens() })
		})
	}
}

func TestTokensEncrypted(t *testing.T) {
	ctx := context.Background()
	raw := sqliteDB(t).newStore(t).Tokens()
	ring, err := tokens.NewKeyRing(1, bytes.Repeat([]byte{0x2a}, 32))
	require.NoError(t, err)
	s := tokens.NewEncrypted(raw, ring)
	k := tokens.Key{Account: m365link.Account{TenantID: "t", UserID: "u"}, Purpose: tokens.PurposeMSAL}
	_, err = s.Put(ctx, k, []byte("secret"), 0)
	require.NoError(t, err)
	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	require.Equal(t, tokens.Entry{Data: []byte("secret"), Version: 1}, got)
	st, err := tokens.Rewrap(ctx, raw, ring)
	require.NoError(t, err)
	require.Equal(t, tokens.RewrapStats{Current: 1}, st)
}
