package syncsql_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/syncsql"
)

// Cursors, statuses and leases in SQLite (syncsql.Postgres with the pgx
// stdlib driver for PostgreSQL); pass the store as Config.State and
// Config.Leases of the engine.
func Example() {
	dir, _ := os.MkdirTemp("", "sync")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	defer db.Close()
	store, _ := syncsql.New(db, syncsql.SQLite, "")

	ctx := context.Background()
	// The engine keeps its records here (opaque to the host).
	var _ m365sync.StateStore = store
	_ = store.Save(ctx, "tenant/user", "f:inbox-id", []byte(`{"v":2,"gen":1}`))
	b, _ := store.Load(ctx, "tenant/user", "f:inbox-id")
	fmt.Println(string(b))

	mine, _ := store.Acquire(ctx, "tenant/user", "worker-a", time.Minute)
	theirs, _ := store.Acquire(ctx, "tenant/user", "worker-b", time.Minute)
	fmt.Println(mine, theirs)
	// Output:
	// {"v":2,"gen":1}
	// true false
}
