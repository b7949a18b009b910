package syncsql_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/syncsql"
	"github.com/m365link/m365link/sync/synctest"
)

// backends returns a constructor of fresh stores per database: SQLite
// always, PostgreSQL when M365LINK_TEST_POSTGRES holds a DSN (its tests
// skip, saying so, without one).
func backends() map[string]func(t *testing.T) *syncsql.Store {
	out := map[string]func(t *testing.T) *syncsql.Store{"sqlite": func(t *testing.T) *syncsql.Store {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "sync.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := syncsql.New(db, syncsql.SQLite, "")
		require.NoError(t, err)
		return s
	}}
	out["postgres"] = func(t *testing.T) *syncsql.Store {
		dsn := os.Getenv("M365LINK_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
		}
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "sync_test_" + hex.EncodeToString(b[:])
		t.Cleanup(func() {
			_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_state")
			_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_leases")
		})
		s, err := syncsql.New(db, syncsql.Postgres, prefix)
		require.NoError(t, err)
		return s
	}
	return out
}

func TestStateStore(t *testing.T) {
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			synctest.RunStateStore(t, func(t *testing.T) m365sync.StateStore { return open(t) })
		})
	}
}

func TestLeaseStore(t *testing.T) {
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			synctest.RunLeaseStore(t, func(t *testing.T) m365sync.LeaseStore { return open(t) })
		})
	}
}

func TestNewRejectsUnsafePrefixes(t *testing.T) {
	_, err := syncsql.New(nil, syncsql.SQLite, "x; DROP TABLE y")
	assert.EqualError(t, err, `syncsql: table prefix "x; DROP TABLE y" is not a plain SQL identifier`)
	_, err = syncsql.New(nil, syncsql.Dialect{Name: "odd"}, "")
	assert.EqualError(t, err, "syncsql: incomplete dialect")
}
