package consent

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/tokens"
)

// forbidUsers answers the directory listing with Graph's 403, as for an
// app without User.Read.All.
type forbidUsers struct{ base http.RoundTripper }

func (f forbidUsers) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/v1.0/users" {
		return &http.Response{StatusCode: http.StatusForbidden, Request: r, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`))}, nil
	}
	return f.base.RoundTrip(r)
}

// Every failed step of a connection test says what failed (an error that
// errors.Is matches against the m365link sentinels) and what to do.
func TestConnectionTestReportsTypedFailuresWithRemedies(t *testing.T) {
	const bobID = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
	type step struct {
		name        string
		is          error // nil: the step worked
		remediation string
	}
	consentAgain := func(perm string) string {
		return "Add the application permission " + perm + " to the app registration (API permissions) and have an administrator consent again; " +
			"if only some mailboxes fail, check that no Exchange application access policy excludes them"
	}
	tests := []struct {
		name    string
		mailbox string
		setup   func(w *world) (*Connector, *graphclient.Client)
		want    []step
	}{
		{"a mailbox without Exchange Online", "bob@contoso.com", nil, []step{
			{"acquire an app-only token", nil, ""}, {"list users", nil, ""}, {"find bob@contoso.com", nil, ""},
			{"read bob@contoso.com's Inbox", m365link.ErrMailboxNotEnabled, "bob@contoso.com has no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises): " +
				"assign it a licence that includes Exchange Online, or test another mailbox"},
			{"read bob@contoso.com's calendars", m365link.ErrMailboxNotEnabled, "bob@contoso.com has no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises): " +
				"assign it a licence that includes Exchange Online, or test another mailbox"},
		}},
		{"an unknown mailbox", "nobody@contoso.com", nil, []step{
			{"acquire an app-only token", nil, ""}, {"list users", nil, ""},
			{"find nobody@contoso.com", m365link.ErrNotFound, "The organisation has no user nobody@contoso.com: check the address or user ID"},
			{"read nobody@contoso.com's Inbox", m365link.ErrNotFound, "The organisation has no user nobody@contoso.com: check the address or user ID"},
			{"read nobody@contoso.com's calendars", m365link.ErrNotFound, "The organisation has no user nobody@contoso.com: check the address or user ID"},
		}},
		{"Graph unavailable for calendars", "alice@contoso.com", func(w *world) (*Connector, *graphclient.Client) {
			w.graph.Inject(fakegraph.Fault{Route: "/calendars", Kind: fakegraph.Unavailable503})
			return w.c, nil
		}, []step{
			{"acquire an app-only token", nil, ""}, {"list users", nil, ""}, {"find alice@contoso.com", nil, ""}, {"read alice@contoso.com's Inbox", nil, ""},
			{"read alice@contoso.com's calendars", m365link.ErrUnavailable, "A passing problem at Microsoft. Try again in a minute"},
		}},
		{"no permission to list users, on a shared client", "", func(w *world) (*Connector, *graphclient.Client) {
			gc, err := graphclient.New(graphclient.Config{Cloud: w.c.cfg.Cloud, HTTPClient: &http.Client{Transport: forbidUsers{w.graph.Client().Transport}}})
			require.NoError(t, err)
			return w.c, gc
		}, []step{
			{"acquire an app-only token", nil, ""},
			{"list users", m365link.ErrConsentRequired, consentAgain("User.Read.All")},
		}},
		{"a wrong client secret", "alice@contoso.com", func(w *world) (*Connector, *graphclient.Client) {
			cred, _ := tokens.ClientSecret("wrong")
			tok, err := tokens.NewManager(tokens.Config{ClientID: appID, Credential: cred, Store: &tokens.Memory{}, Cloud: w.c.cfg.Cloud, HTTPClient: w.idp.Client()})
			require.NoError(t, err)
			cfg := w.c.cfg
			cfg.Tokens = tok
			c, err := New(cfg)
			require.NoError(t, err)
			return c, nil
		}, []step{
			{"acquire an app-only token", tokens.ErrClientCredentials, "The app's client secret was refused. Check the secret the app is configured with against the app registration's Certificates & secrets"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			w.addUser(tenantA, bobID, "bob@contoso.com") // no mailbox
			c, gc := w.c, (*graphclient.Client)(nil)
			if tt.setup != nil {
				c, gc = tt.setup(w)
			}
			report, err := c.TestConnection(context.Background(), gc, tenantA, tt.mailbox)
			require.NoError(t, err)
			require.Len(t, report.Checks, len(tt.want))
			for i, ch := range report.Checks {
				want := tt.want[i]
				assert.Equal(t, [2]string{want.name, want.remediation}, [2]string{ch.Name, ch.Remediation})
				if want.is == nil {
					assert.NoError(t, ch.Err, ch.Name)
				} else {
					assert.ErrorIs(t, ch.Err, want.is, ch.Name)
				}
			}
			assert.False(t, report.OK())
		})
	}
}

// The mailbox steps name the mailbox by its user ID, as sync does, so the
// shared client's per-mailbox limiter counts them with sync's requests.
func TestConnectionTestKeysTheMailboxByUserID(t *testing.T) {
	w := newWorld(t, nil)
	var mu sync.Mutex
	var mailboxes []string
	gc, err := graphclient.New(graphclient.Config{Cloud: w.c.cfg.Cloud, HTTPClient: w.graph.Client(),
		OnResponse: func(mailbox string, _ int) { mu.Lock(); mailboxes = append(mailboxes, mailbox); mu.Unlock() }})
	require.NoError(t, err)
	report, err := w.c.TestConnection(context.Background(), gc, tenantA, "alice@contoso.com")
	require.NoError(t, err)
	require.True(t, report.OK(), "%+v", report)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"", "", aliceID, aliceID}, mailboxes, "list users, find alice, her Inbox, her calendars")

	_, err = w.c.TestConnection(context.Background(), must(graphclient.New(graphclient.Config{Cloud: m365link.China})), tenantA, "")
	assert.EqualError(t, err, `consent: TestConnection got a Graph client of cloud "china", not of the connector's "fake"`)
	_, err = w.c.TestConnection(context.Background(), nil, "", "")
	assert.EqualError(t, err, "consent: TestConnection needs a tenant")
}
