package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
	"github.com/m365link/m365link/tokens/sqlstore"
)

// Tokens in SQLite (use sqlstore.Postgres with the pgx stdlib driver for
// PostgreSQL), encrypted at rest.
func Example() {
	dir, _ := os.MkdirTemp("", "tokens")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	defer db.Close()

	raw, _ := sqlstore.New(db, sqlstore.SQLite, nil)
	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{3}, 32)) // from your KMS in real life
	store := tokens.NewEncrypted(raw, ring)

	key := tokens.Key{Account: m365link.Account{TenantID: "t1", UserID: "u1"}, Purpose: tokens.PurposeMSAL}
	v, _ := store.Put(context.Background(), key, []byte("cache"), 0)
	_, err := store.Put(context.Background(), key, []byte("stale"), 0)
	fmt.Println(v, err)
	// Output: 1 tokens: version conflict: t1/u1:msal is not at version 0
}
