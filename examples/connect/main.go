// Command connect is a small web server that onboards a Microsoft 365 tenant
// the way a CRM or procurement app does: an administrator reads the
// permission table and grants admin consent, users connect their mailbox in
// one click, and a status page says where each connected mailbox stands and
// what to do when it does not work.
//
//	M365LINK_CLIENT_ID=…  M365LINK_CLIENT_SECRET=…  \
//	M365LINK_REDIRECT_URI=http://localhost:8080/m365/callback  \
//	M365LINK_TOKEN_KEY=$(openssl rand -base64 32)  \
//	go run ./examples/connect -addr localhost:8080 -db connect.db
//
// Pages: / (start), /admin (the permission table and the admin-consent
// button), /status (every consented tenant and connected mailbox), and the
// consent package's routes under /m365/ (connect, admin-consent, callback).
//
// Configuration, by environment variable (flags override where one exists):
//
//	M365LINK_CLIENT_ID      the app registration's application (client) ID
//	M365LINK_CLIENT_SECRET  a client secret of the app registration
//	M365LINK_REDIRECT_URI   its registered redirect URI, ending in /m365/callback
//	M365LINK_CLOUD          global (default), usgov-l4, usgov-l5 or china
//	M365LINK_TOKEN_KEY      32 random bytes, base64: encrypts tokens at rest
//	                        (unset: a key for this process only, tokens do not survive a restart)
//	M365LINK_DB             -db: the SQLite file for tokens, consent states and accounts
//	-addr                   where to listen (default localhost:8080)
//
// With -fake it runs on the in-process fake tenant of package m365linktest
// instead: an administrator has consented and two users have connected (the
// fake's browser stand-in did it through this server's own routes at
// start-up), so every page has something to show offline. The sign-in pages
// of the fake identity platform are not meant for a real browser: the
// flows themselves are exercised by this example's test.
//
// The session is a random cookie: a real host uses its own signed-in user.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/sqlstore"
	"github.com/m365link/m365link/tokens"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	dbPath := flag.String("db", os.Getenv("M365LINK_DB"), "SQLite database file (default $M365LINK_DB, else connect.db)")
	fake := flag.Bool("fake", false, "run on an in-process fake tenant")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		a   *app
		err error
	)
	if *fake {
		t := m365linktest.Start()
		defer t.Close()
		a, err = fakeApp(ctx, t)
	} else {
		a, err = realApp(ctx, os.Getenv, *dbPath)
	}
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("connect: serving on http://%s/ (admin consent at /admin, status at /status)", ln.Addr())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// realApp configures the app for a real tenant from the environment.
func realApp(ctx context.Context, getenv func(string) string, dbPath string) (*app, error) {
	clientID, secret, redirect := getenv("M365LINK_CLIENT_ID"), getenv("M365LINK_CLIENT_SECRET"), getenv("M365LINK_REDIRECT_URI")
	if clientID == "" || secret == "" || redirect == "" {
		return nil, errors.New("set M365LINK_CLIENT_ID, M365LINK_CLIENT_SECRET and M365LINK_REDIRECT_URI (or run with -fake)")
	}
	cloud, err := cloudByName(getenv("M365LINK_CLOUD"))
	if err != nil {
		return nil, err
	}
	key, err := tokenKey(getenv("M365LINK_TOKEN_KEY"))
	if err != nil {
		return nil, err
	}
	if dbPath == "" {
		dbPath = "connect.db"
	}
	db, err := openDB(dbPath)
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	ring, err := tokens.NewKeyRing(1, key)
	if err != nil {
		return nil, err
	}
	cred, err := tokens.ClientSecret(secret)
	if err != nil {
		return nil, err
	}
	delegated, err := consent.PlanFor(consent.Delegated, userFeatures...)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: graphclient.DefaultTransport()}
	mgr, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Cloud: cloud, HTTPClient: hc,
		Store: tokens.NewEncrypted(store.Tokens(), ring), Scopes: delegated.GraphScopes(cloud, true)})
	if err != nil {
		return nil, err
	}
	gc, err := graphclient.New(graphclient.Config{Cloud: cloud, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	conn, err := consent.New(consent.Config{ClientID: clientID, RedirectURI: redirect, Scopes: delegated.Scopes(cloud, true),
		Tokens: mgr, Graph: gc, States: store.ConsentStates(), HTTPClient: hc, VerifyAppOnly: true})
	if err != nil {
		return nil, err
	}
	accounts, err := newAccounts(ctx, db)
	if err != nil {
		return nil, err
	}
	return newApp(conn, mgr, accounts)
}

// tokenKey decodes M365LINK_TOKEN_KEY, or makes a key for this process.
func tokenKey(s string) ([]byte, error) {
	if s == "" {
		log.Print("connect: M365LINK_TOKEN_KEY is not set: tokens are encrypted under a key of this process and will not survive a restart")
		key := make([]byte, 32)
		_, err := randRead(key)
		return key, err
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != 32 {
		return nil, errors.New("M365LINK_TOKEN_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)")
	}
	return key, nil
}

// cloudByName maps M365LINK_CLOUD to a cloud.
func cloudByName(name string) (m365link.Cloud, error) {
	if c, ok := m365link.CloudNamed(name); ok {
		return c, nil
	}
	return m365link.Cloud{}, fmt.Errorf("M365LINK_CLOUD=%q: want global, usgov-l4, usgov-l5 or china", name)
}

// fakeApp runs the app on a fake tenant, with an administrator's consent and
// two users connected through the app's own routes, as a browser would.
func fakeApp(ctx context.Context, t *m365linktest.Tenant) (*app, error) {
	t.Generate(m365linktest.Spec{Mailboxes: 3, WithoutMailbox: 1, Vendors: 4, Seed: 7})
	t.AddUser(m365linktest.User{UPN: "admin@" + m365linktest.Domain, DisplayName: "Ada Admin", NoMailbox: true,
		Roles: []string{consent.RoleGlobalAdministrator}})
	db, err := openDB(":memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one in-memory database
	accounts, err := newAccounts(ctx, db)
	if err != nil {
		return nil, err
	}
	a, err := newApp(t.Connector(), t.Tokens(), accounts)
	if err != nil {
		return nil, err
	}
	h := a.Handler()
	if _, err := t.Browser("admin@"+m365linktest.Domain).Visit(h, "/m365/admin-consent?return_to=/status"); err != nil {
		return nil, fmt.Errorf("fake admin consent: %w", err)
	}
	for _, upn := range []string{"alice@contoso.com", "bob@contoso.com"} {
		if _, err := t.Browser(upn).Visit(h, "/m365/connect?return_to=/status"); err != nil {
			return nil, fmt.Errorf("fake connect of %s: %w", upn, err)
		}
	}
	return a, nil
}
