package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/tokens"
)

// The environment variables that configure a real tenant. Flags of the same
// meaning override them.
const (
	envTenant       = "M365LINK_TENANT_ID"
	envClientID     = "M365LINK_CLIENT_ID"
	envClientSecret = "M365LINK_CLIENT_SECRET"
	envCloud        = "M365LINK_CLOUD"
	envRedirectURI  = "M365LINK_REDIRECT_URI"
	envMailbox      = "M365LINK_MAILBOX"
	envDB           = "M365LINK_DB"
)

// envHelp is printed under every subcommand's flags that talks to a tenant.
const envHelp = `Environment (a real tenant; --fake needs none of it):
  M365LINK_TENANT_ID      the customer's tenant ID (a GUID)
  M365LINK_CLIENT_ID      the app registration's application (client) ID
  M365LINK_CLIENT_SECRET  a client secret of the app registration
  M365LINK_CLOUD          global (default), usgov-l4, usgov-l5 or china
  M365LINK_REDIRECT_URI   the redirect URI registered for admin consent
  M365LINK_MAILBOX        a mailbox (UPN) to test and sync
  M365LINK_DB             the SQLite database of sync-once and status
`

// fakeSpec is the fake tenant --fake runs against: a procurement
// organisation small enough to sync in a second or two, its mail in the 89
// days before today (so inside sync-once's default 90-day window).
func fakeSpec(now time.Time) m365linktest.Spec {
	end := now.UTC().Truncate(24 * time.Hour)
	return m365linktest.Spec{
		Mailboxes:          5,
		WithoutMailbox:     1,
		MessagesPerMailbox: 300,
		EventsPerMailbox:   30,
		Vendors:            16,
		Seed:               25,
		Start:              end.Add(-89 * 24 * time.Hour),
		End:                end,
	}
}

// tenantConn is what a subcommand needs to talk to one tenant, real or fake.
type tenantConn struct {
	Tenant string
	Cloud  m365link.Cloud
	Graph  *graphclient.Client
	Tokens *tokens.Manager
	// HTTP reaches the identity platform and Graph.
	HTTP *http.Client
	// Fake and Generated are set with --fake.
	Fake      *m365linktest.Tenant
	Generated *m365linktest.Generated
}

// AppToken is the app-only token source of the tenant.
func (t *tenantConn) AppToken() *tokens.Source {
	return t.Tokens.Source(m365link.Account{TenantID: t.Tenant})
}

// Close stops the fake tenant, if any.
func (t *tenantConn) Close() {
	if t.Fake != nil {
		t.Fake.Close()
	}
}

// cloudByName maps M365LINK_CLOUD to a cloud.
func cloudByName(name string) (m365link.Cloud, error) {
	if c, ok := m365link.CloudNamed(name); ok {
		return c, nil
	}
	switch strings.ToLower(strings.TrimSpace(name)) { // the names admins also know them by
	case "gcchigh", "gcc-high":
		return m365link.USGovL4, nil
	case "dod":
		return m365link.USGovL5, nil
	}
	return m365link.Cloud{}, fmt.Errorf("%s=%q: want global, usgov-l4, usgov-l5 or china", envCloud, name)
}

// startFake starts the in-process fake tenant and fills it.
func startFake() *tenantConn {
	ft := m365linktest.Start()
	gen := ft.Generate(fakeSpec(time.Now()))
	return &tenantConn{Tenant: ft.ID(), Cloud: ft.Cloud(), Graph: ft.Graph(), Tokens: ft.Tokens(), HTTP: ft.HTTPClient(), Fake: ft, Generated: gen}
}

// connect returns the fake tenant with --fake, else the real one the
// environment names (tenant overrides M365LINK_TENANT_ID when not empty).
// needSecret says whether the client secret must be set: a consent link
// needs none, as it is made without a call to Microsoft.
func (c *cli) connect(tenant string, needSecret bool) (*tenantConn, error) {
	if c.fake {
		return startFake(), nil
	}
	if tenant == "" {
		tenant = c.getenv(envTenant)
	}
	clientID, secret := c.getenv(envClientID), c.getenv(envClientSecret)
	var missing []string
	if tenant == "" {
		missing = append(missing, envTenant+" (or --tenant)")
	}
	if clientID == "" {
		missing = append(missing, envClientID)
	}
	if secret == "" && needSecret {
		missing = append(missing, envClientSecret)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not configured: set %s, or run with --fake against the built-in fake tenant", strings.Join(missing, ", "))
	}
	cloud, err := cloudByName(c.getenv(envCloud))
	if err != nil {
		return nil, err
	}
	if secret == "" {
		secret = "not-needed-to-make-a-link" // never sent: the link is made offline
	}
	cred, err := tokens.ClientSecret(secret)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: graphclient.DefaultTransport()}
	// App-only tokens are fetched again by each run; they need no store
	// that outlives the process.
	mgr, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Cloud: cloud, Store: &tokens.Memory{}, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	gc, err := graphclient.New(graphclient.Config{Cloud: cloud, HTTPClient: hc, UserAgent: "m365link-cli"})
	if err != nil {
		return nil, err
	}
	return &tenantConn{Tenant: tenant, Cloud: cloud, Graph: gc, Tokens: mgr, HTTP: hc}, nil
}

// connector makes a consent connector for t. redirect is the registered
// redirect URI (empty: M365LINK_REDIRECT_URI; with --fake, the fake's).
func (c *cli) connector(t *tenantConn, redirect string) (*consent.Connector, error) {
	if t.Fake != nil {
		if redirect == "" {
			return t.Fake.Connector(), nil
		}
		cfg := t.Fake.ConsentConfig(nil)
		cfg.RedirectURI = redirect
		return consent.New(cfg)
	}
	if redirect == "" {
		redirect = c.getenv(envRedirectURI)
	}
	if redirect == "" {
		return nil, errors.New("not configured: set " + envRedirectURI + " (or --redirect-uri) to the redirect URI registered on the app, e.g. https://app.example.com/m365/callback")
	}
	plan, err := consent.PlanFor(consent.Application, consent.MailSync, consent.CalendarSync)
	if err != nil {
		return nil, err
	}
	return consent.New(consent.Config{ClientID: c.getenv(envClientID), RedirectURI: redirect, Scopes: plan.Scopes(t.Cloud, true),
		Tokens: t.Tokens, Graph: t.Graph, HTTPClient: t.HTTP, VerifyAppOnly: true})
}

// dbPath returns where sync-once and status keep their SQLite database:
// the flag, else M365LINK_DB, else m365link.db here; with --fake and
// neither, "" (a throwaway database: every fake run is a new tenant).
func (c *cli) dbPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := c.getenv(envDB); v != "" {
		return v
	}
	if c.fake {
		return ""
	}
	return "m365link.db"
}

// tempDB makes a throwaway database file and returns its path and a
// function that removes it.
func tempDB() (string, func(), error) {
	dir, err := os.MkdirTemp("", "m365link-*")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, "m365link.db"), func() { os.RemoveAll(dir) }, nil
}
