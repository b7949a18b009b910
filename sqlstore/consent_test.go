package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
	"github.com/m365link/m365link/sqlstore"
	"github.com/m365link/m365link/tokens"
)

func attempt(id string, expires time.Time) consent.Attempt {
	return consent.Attempt{ID: id, Flow: consent.FlowAdminConsent, Binding: "binding-hash", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Verifier: "pkce-verifier", Nonce: "oidc-nonce", Subject: "6e7b768e-07e2-4810-8459-485f84f8f204",
		AdminRole: consent.RoleGlobalAdministrator, ReturnTo: "/settings",
		Expires: expires.Truncate(time.Millisecond)}
}

func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestConsentStates(t *testing.T) {
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			d := be.db(t)
			ctx := context.Background()
			s := d.newStore(t).ConsentStates()

			t.Run("issue and take once", func(t *testing.T) {
				a := attempt(randomID(), time.Now().Add(10*time.Minute))
				state, err := s.Issue(ctx, a)
				require.NoError(t, err)
				assert.Equal(t, a.ID, state)
				got, err := s.Take(ctx, state)
				require.NoError(t, err)
				assert.Equal(t, a.ID, got.ID)
				assert.True(t, a.Expires.Equal(got.Expires))
				got.Expires = a.Expires
				assert.Equal(t, a, got)
				_, err = s.Take(ctx, state)
				assert.Equal(t, consent.ErrStateNotFound, err)
				_, err = s.Take(ctx, "never-issued")
				assert.Equal(t, consent.ErrStateNotFound, err)
			})

			t.Run("the table holds no usable state", func(t *testing.T) {
				a := attempt(randomID(), time.Now().Add(10*time.Minute))
				_, err := s.Issue(ctx, a)
				require.NoError(t, err)
				rows, err := d.open(t).QueryContext(ctx, "SELECT state_hash, data FROM "+d.table("consent_states"))
				require.NoError(t, err)
				defer rows.Close()
				n := 0
				for rows.Next() {
					var key string
					var data []byte
					require.NoError(t, rows.Scan(&key, &data))
					assert.NotContains(t, key+string(data), a.ID)
					n++
				}
				require.NoError(t, rows.Err())
				assert.Equal(t, 1, n)
				_, err = s.Take(ctx, a.ID)
				require.NoError(t, err)
			})

			t.Run("expired attempts are refused and purged", func(t *testing.T) {
				past := time.Now().Add(-time.Second)
				var expired []string
				for range 3 {
					st, err := s.Issue(ctx, attempt(randomID(), past))
					require.NoError(t, err)
					expired = append(expired, st)
				}
				live, err := s.Issue(ctx, attempt(randomID(), time.Now().Add(time.Minute)))
				require.NoError(t, err)
				_, err = s.Take(ctx, expired[0])
				assert.Equal(t, consent.ErrStateNotFound, err, "expired: refused (and deleted)")
				n, err := s.Purge(ctx)
				require.NoError(t, err)
				assert.Equal(t, int64(2), n)
				_, err = s.Take(ctx, live)
				assert.NoError(t, err)
			})

			// Two instances (two States on one table) consume the same
			// states at once: each is won exactly once.
			t.Run("concurrent double consume", func(t *testing.T) {
				instances := []*sqlstore.ConsentStates{s, d.newStore(t).ConsentStates()}
				for round := range 10 {
					state, err := s.Issue(ctx, attempt(randomID(), time.Now().Add(time.Minute)))
					require.NoError(t, err)
					var wg gosync.WaitGroup
					results := make(chan error, 8)
					for i := range 8 {
						wg.Go(func() {
							_, err := instances[i%2].Take(ctx, state)
							results <- err
						})
					}
					wg.Wait()
					close(results)
					won, lost := 0, 0
					for err := range results {
						switch {
						case err == nil:
							won++
						case errors.Is(err, consent.ErrStateNotFound):
							lost++
						default:
							t.Fatalf("round %d: %v", round, err)
						}
					}
					assert.Equal(t, [2]int{1, 7}, [2]int{won, lost}, "round %d", round)
				}
			})

			t.Run("issue refuses an attempt without a random ID", func(t *testing.T) {
				_, err := s.Issue(ctx, attempt("short", time.Now().Add(time.Minute)))
				assert.EqualError(t, err, "sqlstore: Issue needs an attempt with a random ID")
			})
		})
	}
}

const (
	tenantA   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantB   = "0b7c4f5e-3e1a-4b5a-9d0a-6a1c2f3e4d5b"
	aliceID   = "6e7b768e-07e2-4810-8459-485f84f8f204"
	carolID   = "1f0c2b6a-9a4e-4d7b-8c3e-5b2a7d9e0f11"
	appID     = "a0c1e0b8-5d6e-4c42-9b53-0f5c7a1d2e3f"
	appSecret = "client-secret-value-never-logged"
	redirect  = "https://app.example/m365/callback"
)

// browse plays the browser at the identity platform and returns the raw
// query of the redirect back to the app.
func browse(t *testing.T, ip *idp.Server, u string) string {
	t.Helper()
	hc := *ip.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc.RawQuery
}

// Two instances of a host share the table: a callback completed on one is
// refused on the other (the memory of SignedStates would have let the
// admin-consent replay through, as it carries no code).
func TestCallbackConsumedOnOneInstanceIsRefusedOnAnother(t *testing.T) {
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			d := be.db(t)
			ip := idp.New()
			t.Cleanup(ip.Close)
			ip.AddApp(idp.App{ClientID: appID, Secret: appSecret, RedirectURIs: []string{redirect}})
			ip.AddUser(idp.User{TenantID: tenantA, ID: aliceID, UPN: "alice@contoso.com", Name: "Alice"})
			ip.AddUser(idp.User{TenantID: tenantA, ID: carolID, UPN: "carol@contoso.com", Name: "Carol", Admin: true})
			graph := fakegraph.New()
			t.Cleanup(graph.Close)
			graph.AddTenant(fakegraph.Tenant{ID: tenantA})
			graph.AddUser(tenantA, fakegraph.User{ID: carolID, UPN: "carol@contoso.com", DirectoryRoles: []string{consent.RoleGlobalAdministrator}})
			graph.SetTokenUser(func(tok string, _ *http.Request) string { c, _ := ip.Validate(tok); return c.UserID })
			cred, _ := tokens.ClientSecret(appSecret)
			ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{5}, 32))
			instance := func() *consent.Connector {
				cloud := m365link.Global
				cloud.AuthorityHost, cloud.GraphBase = ip.URL(), graph.URL()
				tok, err := tokens.NewManager(tokens.Config{ClientID: appID, Credential: cred, Store: tokens.NewEncrypted(&tokens.Memory{}, ring),
					Cloud: cloud, Scopes: []string{"https://graph.microsoft.com/Mail.Read"}, HTTPClient: ip.Client()})
				require.NoError(t, err)
				c, err := consent.New(consent.Config{ClientID: appID, Cloud: cloud, RedirectURI: redirect, Tokens: tok,
					Scopes: []string{"openid", "profile", "offline_access", "https://graph.microsoft.com/Mail.Read"}, States: d.newStore(t).ConsentStates(), HTTPClient: ip.Client()})
				require.NoError(t, err)
				return c
			}
			one, two := instance(), instance()
			ctx := context.Background()

			ip.SignInAs(tenantA, aliceID)
			u, err := one.BeginConnect(ctx, "s", nil)
			require.NoError(t, err)
			back := browse(t, ip, u)
			_, err = one.CompleteConnect(ctx, "s", back)
			require.NoError(t, err)
			_, err = two.CompleteConnect(ctx, "s", back)
			assert.Equal(t, "consent: invalid callback: the state is unknown, expired or already used. Start connecting again from the app", fmt.Sprint(err))
			assert.Equal(t, 1, ip.Grants("authorization_code"), "the replay never reached the token endpoint")

			// Admin consent: the callback carries no code, so only the
			// shared store stops its replay.
			ip.SignInAs(tenantA, carolID)
			u, err = one.AdminConsentURL(ctx, "admin", tenantA, "")
			require.NoError(t, err)
			back = browse(t, ip, u)
			_, err = one.CompleteAdminConsent(ctx, "admin", back)
			require.NoError(t, err)
			_, err = two.CompleteAdminConsent(ctx, "admin", back)
			assert.ErrorIs(t, err, consent.ErrInvalidCallback)

			// Either instance completes what the other began.
			u, err = two.BeginAdminConsent(ctx, "admin", nil)
			require.NoError(t, err)
			next, err := one.CompleteAdminSignIn(ctx, "admin", browse(t, ip, u))
			require.NoError(t, err)
			ac, err := two.CompleteAdminConsent(ctx, "admin", browse(t, ip, next))
			require.NoError(t, err)
			assert.Equal(t, tenantA, ac.TenantID)
			assert.Equal(t, consent.RoleGlobalAdministrator, ac.AdminRole, "the role travels in the shared table")
			_, err = one.CompleteAdminConsent(ctx, "admin", "admin_consent=True&tenant="+tenantB+"&state=x")
			assert.ErrorIs(t, err, consent.ErrInvalidCallback)
		})
	}
}
