package tokens_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

const authFailed = "the stored grant cannot be decrypted: authentication failed (another account, purpose or version of the entry, another key, or tampered)"

// garble flips one byte of the stored blob of key, in place (the row's
// version moves on, as any write does).
func garble(t *testing.T, raw *tokens.Memory, key tokens.Key) {
	t.Helper()
	e, err := raw.Get(context.Background(), key)
	require.NoError(t, err)
	e.Data[len(e.Data)-1] ^= 0x01
	_, err = raw.Put(context.Background(), key, e.Data, e.Version)
	require.NoError(t, err)
}

// TestUnreadableGrantIsReconnectRequired: a stored grant that does not
// decrypt (tampered, rolled back, or under a key the ring lacks) is a
// typed reconnect-required state, not a bare decryption error; it fails
// fast, and connecting again replaces the entry.
func TestUnreadableGrantIsReconnectRequired(t *testing.T) {
	msalKey := tokens.Key{Account: alice, Purpose: tokens.PurposeMSAL}
	tests := []struct {
		name    string
		spoil   func(t *testing.T, e *env)
		process func(t *testing.T, e *env) *tokens.Manager
		want    string
	}{
		{"tampered", func(t *testing.T, e *env) { garble(t, e.raw, msalKey) }, nil, authFailed},
		{"rolled back", func(t *testing.T, e *env) {
			// The blob of the grant as first saved, written back after a
			// refresh rotated the refresh token.
			first, err := e.raw.Get(context.Background(), msalKey)
			require.NoError(t, err)
			_, err = e.process(t, nil).Source(alice).Token(context.Background())
			require.NoError(t, err)
			cur, err := e.raw.Get(context.Background(), msalKey)
			require.NoError(t, err)
			_, err = e.raw.Put(context.Background(), msalKey, first.Data, cur.Version)
			require.NoError(t, err)
		}, nil, authFailed},
		{"key not in the ring", nil, func(t *testing.T, e *env) *tokens.Manager {
			ring, err := tokens.NewKeyRing(2, bytes.Repeat([]byte{8}, 32))
			require.NoError(t, err)
			return e.process(t, tokens.NewEncrypted(e.raw, ring))
		}, "the stored grant cannot be decrypted: key ID 1 is not in the ring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.idp.SetAccessTokenTTL(time.Minute)
			e.connect(t, e.process(t, nil))
			if tt.spoil != nil {
				tt.spoil(t, e)
			}
			grants := e.idp.Grants("")
			m := e.process(t, nil)
			if tt.process != nil {
				m = tt.process(t, e)
			}
			for range 3 {
				_, err := m.Source(alice).Token(ctx)
				var re *m365link.ReconnectError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, m365link.ReconnectError{Account: alice, Reason: m365link.ReasonStoredGrantUnreadable, Description: tt.want}, *re)
				assert.ErrorIs(t, err, m365link.ErrReconnectRequired)
				assert.NotErrorIs(t, err, tokens.ErrDecrypt)
			}
			assert.Equal(t, grants, e.idp.Grants(""), "nothing was sent with an unusable grant")

			// Connecting again overwrites the entry, readable or not.
			e.idp.SetAccessTokenTTL(time.Hour)
			e.connect(t, m)
			_, err := m.Source(alice).Token(ctx)
			require.NoError(t, err)
		})
	}
}

// TestUnreadableExternalTokenIsReconnectRequired is the same for a token
// pair the host brought.
func TestUnreadableExternalTokenIsReconnectRequired(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.idp.SetAccessTokenTTL(time.Minute)
	x := e.external()
	require.NoError(t, x.Save(ctx, e.hostToken(t)))
	garble(t, e.raw, tokens.Key{Account: alice, Purpose: tokens.PurposeOAuth2})

	x = e.external()
	_, err := x.Token(ctx)
	var re *m365link.ReconnectError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, m365link.ReconnectError{Account: alice, Reason: m365link.ReasonStoredGrantUnreadable, Description: authFailed}, *re)
	assert.Equal(t, 0, e.idp.Grants("refresh_token"))

	e.idp.SetAccessTokenTTL(time.Hour)
	require.NoError(t, x.Save(ctx, e.hostToken(t)), "saving replaces the unreadable entry")
	_, err = x.Token(ctx)
	require.NoError(t, err)
}

// TestUnreadableAppTokenCacheIsReplaced: an app-only account's cache holds
// access tokens only, which client credentials get again: an unreadable
// one is replaced, with no reconnect needed.
func TestUnreadableAppTokenCacheIsReplaced(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	app := m365link.Account{TenantID: tenantID}
	_, err := e.process(t, nil).Source(app).Token(ctx)
	require.NoError(t, err)
	garble(t, e.raw, tokens.Key{Account: app, Purpose: tokens.PurposeMSAL})

	tok, err := e.process(t, nil).Source(app).Token(ctx)
	require.NoError(t, err)
	_, ok := e.idp.Validate(tok.AccessToken)
	assert.True(t, ok)
	assert.Equal(t, 2, e.idp.Grants("client_credentials"))
	_, err = e.store.Get(ctx, tokens.Key{Account: app, Purpose: tokens.PurposeMSAL})
	assert.NoError(t, err, "the entry was rewritten readable")
}
