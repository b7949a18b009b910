package idp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph/idp"
)

const (
	tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	aliceID  = "6e7b768e-07e2-4810-8459-485f84f8f204"
	carolID  = "1f0c2b6a-9a4e-4d7b-8c3e-5b2a7d9e0f11"
	clientID = "a0c1e0b8-5d6e-4c42-9b53-0f5c7a1d2e3f"
	secret   = "s3cret"
	back     = "https://app.example/callback"
)

func newServer(t *testing.T) *idp.Server {
	s := idp.New()
	t.Cleanup(s.Close)
	s.AddApp(idp.App{ClientID: clientID, Secret: secret, RedirectURIs: []string{back}})
	s.AddUser(idp.User{TenantID: tenant, ID: aliceID, UPN: "alice@contoso.com"})
	s.AddUser(idp.User{TenantID: tenant, ID: carolID, UPN: "carol@contoso.com", Admin: true})
	return s
}

// token posts a token request and returns the status and the OAuth error
// and description ("" on success), and the refresh token issued.
func token(t *testing.T, s *idp.Server, form url.Values) (status int, oauthErr, desc, refresh string) {
	t.Helper()
	form.Set("client_id", clientID)
	form.Set("client_secret", secret)
	resp, err := s.Client().PostForm(s.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Error        string `json:"error"`
		Description  string `json:"error_description"`
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body.Error, body.Description, body.RefreshToken
}

func refresh(t *testing.T, s *idp.Server, rt string) (string, string) {
	t.Helper()
	_, e, d, _ := token(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	return e, d
}

func appOnly(t *testing.T, s *idp.Server) (string, string) {
	t.Helper()
	_, e, d, _ := token(t, s, url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	return e, d
}

// signIn opens the authorize (or adminconsent) endpoint as user and
// returns the status and what came back: the redirect's query, or the
// error page's body.
func signIn(t *testing.T, s *idp.Server, user, endpoint string) (int, string) {
	t.Helper()
	s.SignInAs(tenant, user)
	q := url.Values{"client_id": {clientID}, "redirect_uri": {back}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st"}}
	hc := *s.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(s.URL() + "/" + tenant + endpoint + "?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		return resp.StatusCode, loc.RawQuery
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func connect(t *testing.T, s *idp.Server, user string) string {
	t.Helper()
	code := s.IssueCode(clientID, tenant, user, back, "", "", []string{"https://graph.microsoft.com/Mail.Read"})
	status, e, _, rt := token(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {back}})
	require.Equal(t, http.StatusOK, status, e)
	return rt
}

func TestDisableUser(t *testing.T) {
	s := newServer(t)
	rt := connect(t, s, aliceID)
	s.DisableUser(tenant, aliceID, true)
	e, d := refresh(t, s, rt)
	assert.Equal(t, "invalid_grant", e)
	assert.True(t, strings.HasPrefix(d, "AADSTS50057: The user account is disabled."), d)
	status, page := signIn(t, s, aliceID, "/oauth2/v2.0/authorize")
	assert.Equal(t, http.StatusBadRequest, status, "no redirect back")
	assert.Contains(t, page, "AADSTS50057")

	s.DisableUser(tenant, aliceID, false)
	e, _ = refresh(t, s, rt)
	assert.Empty(t, e)
	status, _ = signIn(t, s, aliceID, "/oauth2/v2.0/authorize")
	assert.Equal(t, http.StatusFound, status)
}

func TestRequireMFA(t *testing.T) {
	s := newServer(t)
	rt := connect(t, s, aliceID)
	s.RequireMFA(tenant, aliceID, true)
	e, d := refresh(t, s, rt)
	assert.Equal(t, "interaction_required", e)
	assert.True(t, strings.HasPrefix(d, "AADSTS50076: "), d)
	status, q := signIn(t, s, aliceID, "/oauth2/v2.0/authorize")
	require.Equal(t, http.StatusFound, status)
	back, _ := url.ParseQuery(q)
	assert.Equal(t, "interaction_required", back.Get("error"))
	assert.True(t, strings.HasPrefix(back.Get("error_description"), "AADSTS50076: "))

	s.RequireMFA(tenant, aliceID, false)
	e, _ = refresh(t, s, rt)
	assert.Empty(t, e)
}

func TestRevokeConsent(t *testing.T) {
	s := newServer(t)
	rt := connect(t, s, aliceID)
	e, _ := appOnly(t, s)
	require.Empty(t, e)

	s.RevokeConsent(tenant, clientID)
	e, d := appOnly(t, s)
	assert.Equal(t, "unauthorized_client", e)
	assert.True(t, strings.HasPrefix(d, "AADSTS700016: "), d)
	e, d = refresh(t, s, rt)
	assert.Equal(t, "invalid_grant", e)
	assert.True(t, strings.HasPrefix(d, "AADSTS65001: "), d)
	_, q := signIn(t, s, aliceID, "/oauth2/v2.0/authorize")
	back, _ := url.ParseQuery(q)
	assert.Equal(t, "consent_required", back.Get("error"), "a user cannot add the app back")
	_, q = signIn(t, s, carolID, "/oauth2/v2.0/authorize")
	back, _ = url.ParseQuery(q)
	assert.NotEmpty(t, back.Get("code"), "an administrator signs in to consent again")

	_, q = signIn(t, s, carolID, "/v2.0/adminconsent")
	back, _ = url.ParseQuery(q)
	require.Equal(t, "True", back.Get("admin_consent"))
	require.Empty(t, back.Get("error"))
	assert.True(t, s.Consented(tenant, clientID))
	e, _ = appOnly(t, s)
	assert.Empty(t, e)
	e, _ = refresh(t, s, rt)
	assert.Empty(t, e)
}
