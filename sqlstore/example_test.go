package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/tokens"
)

// openExampleDB opens a SQLite database in a new directory; remove the
// directory when done. On PostgreSQL: sql.Open("pgx", dsn) with the
// github.com/jackc/pgx/v5/stdlib driver, and sqlstore.Postgres.
func openExampleDB() (*sql.DB, string) {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		panic(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		panic(err)
	}
	return db, dir
}

// One store per database: migrate it at start-up, then hand its views to
// the packages that keep data.
func Example() {
	db, dir := openExampleDB()
	defer os.RemoveAll(dir)
	defer db.Close()

	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		panic(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		panic(err)
	}
	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{3}, 32)) // from your KMS in real life
	_ = tokens.Config{Store: tokens.NewEncrypted(store.Tokens(), ring) /* , ClientID, Credential, Scopes… */}
	_ = m365sync.Config{State: store.SyncState(), Leases: store.Leases() /* , TenantID, Tokens, Sink… */}
	_ = consent.Config{States: store.ConsentStates() /* , ClientID, RedirectURI, Tokens… */}
	fmt.Println(store)
	// Output: sqlstore.Store{sqlite m365link}
}

// Tokens, encrypted at rest, with compare-and-swap on the version.
func ExampleStore_Tokens() {
	db, dir := openExampleDB()
	defer os.RemoveAll(dir)
	defer db.Close()
	store, _ := sqlstore.New(db, sqlstore.SQLite, nil)

	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{3}, 32)) // from your KMS in real life
	ts := tokens.NewEncrypted(store.Tokens(), ring)

	ctx := context.Background()
	key := tokens.Key{Account: m365link.Account{TenantID: "t1", UserID: "u1"}, Purpose: tokens.PurposeMSAL}
	v, _ := ts.Put(ctx, key, []byte("cache"), 0)
	_, err := ts.Put(ctx, key, []byte("stale"), 0)
	fmt.Println(v, err)
	// Output: 1 tokens: version conflict: t1/u1:msal is not at version 0
}

// The sync engine's records (opaque to the host) and its leases; pass
// them as Config.State and Config.Leases of the engine.
func ExampleStore_SyncState() {
	db, dir := openExampleDB()
	defer os.RemoveAll(dir)
	defer db.Close()
	store, _ := sqlstore.New(db, sqlstore.SQLite, nil)

	ctx := context.Background()
	state := store.SyncState()
	_ = state.Save(ctx, "tenant/user", "f:inbox-id", []byte(`{"v":2,"gen":1}`))
	b, _ := state.Load(ctx, "tenant/user", "f:inbox-id")
	fmt.Println(string(b))

	leases := store.Leases()
	mine, _ := leases.Acquire(ctx, "tenant/user", "worker-a", time.Minute)
	theirs, _ := leases.Acquire(ctx, "tenant/user", "worker-b", time.Minute)
	fmt.Println(mine, theirs)
	// Output:
	// {"v":2,"gen":1}
	// true false
}

// A host with several instances gives each a store on the same database,
// so a callback is accepted once across all of them.
func ExampleStore_ConsentStates() {
	db, dir := openExampleDB()
	defer os.RemoveAll(dir)
	defer db.Close()
	store, _ := sqlstore.New(db, sqlstore.SQLite, nil)
	states := store.ConsentStates()

	// In a host: consent.New(consent.Config{..., States: states}).
	// The Connector issues and takes attempts; by hand, for the example:
	ctx := context.Background()
	state, err := states.Issue(ctx, consent.Attempt{ID: "an-attempt-id-of-32-random-bytes", Flow: consent.FlowConnect,
		Expires: time.Now().Add(10 * time.Minute)})
	if err != nil {
		panic(err)
	}
	_, err = states.Take(ctx, state)
	fmt.Println("first callback:", err)
	_, err = states.Take(ctx, state)
	fmt.Println("replayed callback:", err)
	// Output:
	// first callback: <nil>
	// replayed callback: consent: state not found, expired or already used
}
