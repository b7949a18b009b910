package tokens_test

import (
	"context"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link/tokens"
)

// Claims last claimTTL here instead of 30 s, and the identity platform
// takes slowRefresh — four claim lifetimes — to answer a refresh: the
// "refresh slower than the claim" case (a 40 s refresh against the 30 s
// claim) scaled down to run in about a second.
const (
	claimTTL    = 300 * time.Millisecond
	slowRefresh = 4 * claimTTL
)

// waitFor polls cond until it holds or a few seconds passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connectedThrough connects alice through f with an access token that is
// already due for refresh; tokens issued after it last an hour.
func connectedThrough(t *testing.T, e *env, f *front, m *tokens.Manager) {
	t.Helper()
	e.idp.SetAccessTokenTTL(time.Minute)
	code := e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "", mailRead)
	c, err := m.RedeemCode(context.Background(), tenantID, code, redirect, "", mailRead)
	require.NoError(t, err)
	require.NoError(t, m.Save(context.Background(), c))
	e.idp.SetAccessTokenTTL(time.Hour)
}

// TestRefreshSlowerThanTheClaimHappensOnce: two processes (two Managers on
// one store) need alice's token; the first one's refresh takes four claim
// lifetimes. It renews its claim meanwhile, so the second waits and then
// finds the refreshed token in the store: one grant, one token.
func TestRefreshSlowerThanTheClaimHappensOnce(t *testing.T) {
	e := newEnv(t)
	f := newFront(t, e)
	a, b := managerFor(t, e, f.srv.URL, e.idp.Client()), managerFor(t, e, f.srv.URL, e.idp.Client())
	tokens.SetClaimTTL(a, claimTTL)
	tokens.SetClaimTTL(b, claimTTL)
	connectedThrough(t, e, f, a)
	f.delay.Store(int64(slowRefresh))
	posts := f.posts.Load()

	var ta, tb *oauth2.Token
	var ea, eb error
	var wg gosync.WaitGroup
	wg.Go(func() { ta, ea = a.Source(alice).Token(context.Background()) })
	waitFor(t, "the first refresh to reach the token endpoint", func() bool { return f.posts.Load() > posts })
	start := time.Now()
	wg.Go(func() { tb, eb = b.Source(alice).Token(context.Background()) })
	wg.Wait()

	require.NoError(t, ea)
	require.NoError(t, eb)
	assert.Equal(t, 1, e.idp.Grants("refresh_token"), "exactly one refresh grant")
	assert.Equal(t, posts+1, f.posts.Load(), "exactly one token request")
	assert.Equal(t, ta.AccessToken, tb.AccessToken)
	assert.Greater(t, time.Since(start), 2*claimTTL, "the second process waited past the claim's first lifetime")
}

// TestExternalRefreshSlowerThanTheClaimHappensOnce is the same for two
// External sources (the host's own OAuth stack) on one store.
func TestExternalRefreshSlowerThanTheClaimHappensOnce(t *testing.T) {
	e := newEnv(t)
	f := newFront(t, e)
	external := func() *tokens.External {
		x := tokens.NewExternal(e.store, alice, &oauth2.Config{ClientID: clientID, ClientSecret: secret,
			Endpoint: oauth2.Endpoint{TokenURL: f.srv.URL + "/" + tenantID + "/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams}},
			&tokens.ExternalOptions{HTTPClient: e.idp.Client()})
		tokens.SetExternalClaimTTL(x, claimTTL)
		return x
	}
	a, b := external(), external()
	e.idp.SetAccessTokenTTL(time.Minute)
	require.NoError(t, a.Save(context.Background(), e.hostToken(t)))
	e.idp.SetAccessTokenTTL(time.Hour)
	f.delay.Store(int64(slowRefresh))
	posts := f.posts.Load()

	var ta, tb *oauth2.Token
	var ea, eb error
	var wg gosync.WaitGroup
	wg.Go(func() { ta, ea = a.Token(context.Background()) })
	waitFor(t, "the first refresh to reach the token endpoint", func() bool { return f.posts.Load() > posts })
	wg.Go(func() { tb, eb = b.Token(context.Background()) })
	wg.Wait()

	require.NoError(t, ea)
	require.NoError(t, eb)
	assert.Equal(t, 1, e.idp.Grants("refresh_token"), "exactly one refresh grant")
	assert.Equal(t, ta.AccessToken, tb.AccessToken)
}

// TestForgetDuringARefreshStartsNoSecondGrant: Forget while a (slow)
// refresh runs, ten times, each followed by a Token call on the new
// Source. The new Sources wait for the running refresh's claim like any
// other process would, then read its token from the store.
func TestForgetDuringARefreshStartsNoSecondGrant(t *testing.T) {
	e := newEnv(t)
	f := newFront(t, e)
	m := managerFor(t, e, f.srv.URL, e.idp.Client())
	tokens.SetClaimTTL(m, claimTTL)
	connectedThrough(t, e, f, m)
	f.delay.Store(int64(slowRefresh))
	posts := f.posts.Load()

	got := make([]*oauth2.Token, 11)
	errs := make([]error, 11)
	var wg gosync.WaitGroup
	wg.Go(func() { got[0], errs[0] = m.Source(alice).Token(context.Background()) })
	waitFor(t, "the refresh to reach the token endpoint", func() bool { return f.posts.Load() > posts })
	for i := 1; i <= 10; i++ {
		m.Forget(alice)
		src := m.Source(alice)
		wg.Go(func() { got[i], errs[i] = src.Token(context.Background()) })
		time.Sleep(slowRefresh / 20)
	}
	wg.Wait()

	assert.Equal(t, make([]error, 11), errs)
	assert.Equal(t, 1, e.idp.Grants("refresh_token"), "exactly one refresh grant")
	for i := range got {
		if assert.NotNil(t, got[i], "caller %d", i) {
			assert.Equal(t, got[0].AccessToken, got[i].AccessToken, "caller %d", i)
		}
	}
}
