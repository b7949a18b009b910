package tokens_test

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph/idp"
	"github.com/m365link/m365link/tokens"
)

func (e *env) oauth2Config() *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: mailRead,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.idp.URL() + "/" + tenantID + "/oauth2/v2.0/authorize",
			TokenURL:  e.idp.URL() + "/" + tenantID + "/oauth2/v2.0/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// hostToken is what a host's own OAuth stack got: a code exchanged with x/oauth2.
func (e *env) hostToken(t *testing.T) *oauth2.Token {
	t.Helper()
	code := e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "", mailRead)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.idp.Client())
	tok, err := e.oauth2Config().Exchange(ctx, code)
	require.NoError(t, err)
	return tok
}

func (e *env) external() *tokens.External {
	return tokens.NewExternal(e.store, alice, e.oauth2Config(), &tokens.ExternalOptions{HTTPClient: e.idp.Client()})
}

func TestExternalPersistsEveryRotation(t *testing.T) {
	e := newEnv(t)
	e.idp.SetAccessTokenTTL(time.Minute)
	x := e.external()
	require.NoError(t, x.Save(context.Background(), e.hostToken(t)))

	for i := 1; i <= 3; i++ {
		// Each call finds a token inside the refresh margin and refreshes.
		tok, err := x.Token(context.Background())
		require.NoError(t, err)
		_, ok := e.idp.Validate(tok.AccessToken)
		require.True(t, ok)
		issued := e.idp.RefreshTokensIssued(tenantID, userID)
		require.Len(t, issued, i+1)
		assert.Equal(t, issued[i-1], e.idp.LastRefreshTokenUsed(tenantID, userID), "refresh %d sent the newest refresh token", i)
		restarted := e.external() // a process restart: only the store remembers
		x = restarted
	}
	assert.Equal(t, 3, e.idp.Grants("refresh_token"))
}

func TestExternalRefreshesOnceAcrossProcesses(t *testing.T) {
	e := newEnv(t)
	e.idp.SetAccessTokenTTL(time.Minute)
	a, b := e.external(), e.external()
	require.NoError(t, a.Save(context.Background(), e.hostToken(t)))
	e.idp.SetAccessTokenTTL(time.Hour)
	var wg gosync.WaitGroup
	got := make([]string, 100)
	for i := range got {
		x := a
		if i%2 == 1 {
			x = b
		}
		wg.Go(func() {
			tok, err := x.Token(context.Background())
			if assert.NoError(t, err) {
				got[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, e.idp.Grants("refresh_token"))
	for i := range got {
		assert.Equal(t, got[0], got[i])
	}
}

func TestExternalReconnectRequired(t *testing.T) {
	e := newEnv(t)
	e.idp.SetAccessTokenTTL(time.Minute)
	x := e.external()
	require.NoError(t, x.Save(context.Background(), e.hostToken(t)))
	e.idp.BreakGrant(tenantID, userID, idp.Failure{Error: "invalid_grant", Code: 700082, Description: "The refresh token has expired due to inactivity."})
	for range 10 {
		_, err := x.Token(context.Background())
		require.ErrorIs(t, err, m365link.ErrReconnectRequired)
		var re *m365link.ReconnectError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, m365link.ReconnectError{Account: alice, Reason: m365link.ReasonExpired, Code: "AADSTS700082",
			Description: "The refresh token has expired due to inactivity."}, *re)
	}
	assert.Equal(t, 1, e.idp.Grants("refresh_token"))

	// The host reconnects through its own flow and saves the new pair.
	e.idp.SetAccessTokenTTL(time.Hour)
	require.NoError(t, x.Save(context.Background(), e.hostToken(t)))
	_, err := x.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tokens.External{"+tenantID+"/"+userID+"}", fmt.Sprint(x))
}

func TestExternalTransientAndNotConnected(t *testing.T) {
	e := newEnv(t)
	x := e.external()
	_, err := x.Token(context.Background())
	var re *m365link.ReconnectError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, m365link.ReasonNotConnected, re.Reason)

	e.idp.SetAccessTokenTTL(time.Minute)
	require.NoError(t, x.Save(context.Background(), e.hostToken(t)))
	e.idp.FailNext(idp.Failure{Status: 503, Error: "temporarily_unavailable", Times: 2})
	_, err = x.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, e.idp.Grants("refresh_token"))
}
