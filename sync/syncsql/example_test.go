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
	_ = store.SaveCursor(ctx, "tenant/user", "inbox-id", m365sync.Cursor{Link: "https://graph.microsoft.com/v1.0/…?$deltatoken=…", Generation: 1})
	c, _ := store.LoadCursor(ctx, "tenant/user", "inbox-id")
	fmt.Println(c.Generation)

	mine, _ := store.Acquire(ctx, "tenant/user", "worker-a", time.Minute)
	theirs, _ := store.Acquire(ctx, "tenant/user", "worker-b", time.Minute)
	fmt.Println(mine, theirs)
	// Output:
	// 1
	// true false
}
