package consentsql_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/consent/consentsql"
)

// A host with several instances gives each the same table, so a callback
// is accepted once across all of them. Here on SQLite; on PostgreSQL open
// the database with the "pgx" driver and pass consentsql.Postgres.
func Example() {
	dir, _ := os.MkdirTemp("", "consentsql-example")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	states, err := consentsql.New(db, consentsql.SQLite, nil)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := states.Migrate(ctx); err != nil { // optional: Issue and Take migrate on first use
		panic(err)
	}
	// In a host: consent.New(consent.Config{..., States: states}).
	// The Connector issues and takes attempts; by hand, for the example:
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
