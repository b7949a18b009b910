package tokens_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// cloudFront stands in for a cloud's identity platform: it records every
// request the manager sends (to the cloud's authority host) and passes it
// to the fake, whose answers it rewrites to name the cloud's host.
type cloudFront struct {
	fake      *url.URL
	base      http.RoundTripper
	authority string

	mu     gosync.Mutex
	hosts  map[string]int // scheme://host of every request
	scopes []string       // the scope of every token request
}

func (f *cloudFront) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	f.mu.Lock()
	f.hosts[r.URL.Scheme+"://"+r.URL.Host]++
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		form, _ := url.ParseQuery(string(body))
		f.scopes = append(f.scopes, form.Get("scope"))
	}
	f.mu.Unlock()
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host = f.fake.Scheme, f.fake.Host, ""
	out.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := f.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte(f.fake.String()), []byte(f.authority))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

// TestEveryCloudAsksItsAuthorityForItsGraph: the Cloud decides where
// tokens come from and which Graph an app-only token is for: a national
// cloud's manager never asks the global identity platform, nor for the
// global Graph.
func TestEveryCloudAsksItsAuthorityForItsGraph(t *testing.T) {
	for _, tc := range []struct {
		cloud     m365link.Cloud
		authority string
		appScope  string
	}{
		{m365link.Cloud{}, "https://login.microsoftonline.com", "https://graph.microsoft.com/.default"},
		{m365link.Global, "https://login.microsoftonline.com", "https://graph.microsoft.com/.default"},
		{m365link.USGovL4, "https://login.microsoftonline.us", "https://graph.microsoft.us/.default"},
		{m365link.USGovL5, "https://login.microsoftonline.us", "https://dod-graph.microsoft.us/.default"},
		{m365link.China, "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"},
	} {
		t.Run(tc.cloud.String(), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			fake, err := url.Parse(e.idp.URL())
			require.NoError(t, err)
			front := &cloudFront{fake: fake, base: e.idp.Client().Transport, authority: tc.authority, hosts: map[string]int{}}
			cred, err := tokens.ClientSecret(secret)
			require.NoError(t, err)
			m, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Store: e.store, Cloud: tc.cloud,
				Scopes: []string{tc.cloud.Scope("Mail.Read")}, HTTPClient: &http.Client{Transport: front}})
			require.NoError(t, err)
			assert.Equal(t, tc.cloud.OrDefault(), m.Cloud())

			tok, err := m.Source(m365link.Account{TenantID: tenantID}).Token(ctx)
			require.NoError(t, err)
			claims, ok := e.idp.Validate(tok.AccessToken)
			require.True(t, ok)
			assert.Equal(t, []string{tc.appScope}, claims.Scopes, "the app-only token is for the cloud's Graph")

			code := e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "", []string{tc.cloud.Scope("Mail.Read")})
			_, err = m.RedeemCode(ctx, tenantID, code, redirect, "", []string{tc.cloud.Scope("Mail.Read")})
			require.NoError(t, err)

			front.mu.Lock()
			defer front.mu.Unlock()
			for host := range front.hosts {
				assert.Equal(t, tc.authority, host, "every request goes to the cloud's identity platform")
			}
			// MSAL adds the OpenID Connect scopes to every request.
			assert.Equal(t, []string{tc.appScope + " openid offline_access profile", tc.cloud.Scope("Mail.Read") + " openid offline_access profile"},
				front.scopes, "client credentials ask for the cloud's .default, a code for the cloud's scopes")
		})
	}
}

func TestNewManagerRefusesAnIncompleteCloud(t *testing.T) {
	cred, err := tokens.ClientSecret(secret)
	require.NoError(t, err)
	for _, c := range []m365link.Cloud{
		{Name: "plain http", AuthorityHost: "http://login.example", GraphResource: "https://graph.example"},
		{Name: "no graph", AuthorityHost: "https://login.example"},
	} {
		_, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Store: &tokens.Memory{}, Cloud: c})
		assert.EqualError(t, err, "tokens: Config.Cloud \""+c.Name+"\" needs an https AuthorityHost and a GraphResource")
	}
}
