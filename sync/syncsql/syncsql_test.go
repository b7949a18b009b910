package syncsql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	gosync "sync"
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

// TestConcurrentFirstMigrate starts two "processes" (two *sql.DB, so two
// connection pools) on fresh tables at the same moment: both first
// Migrates succeed and each sees what the other writes. Repeated, because
// a race loses only sometimes.
func TestConcurrentFirstMigrate(t *testing.T) {
	ctx := context.Background()
	backends := map[string]struct {
		d    syncsql.Dialect
		open func(t *testing.T) (a, b *sql.DB, prefix string)
	}{
		"sqlite": {syncsql.SQLite, func(t *testing.T) (*sql.DB, *sql.DB, string) {
			dsn := "file:" + filepath.Join(t.TempDir(), "sync.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
			return openDSN(t, "sqlite", dsn), openDSN(t, "sqlite", dsn), ""
		}},
		"postgres": {syncsql.Postgres, func(t *testing.T) (*sql.DB, *sql.DB, string) {
			dsn := os.Getenv("M365LINK_TEST_POSTGRES")
			if dsn == "" {
				t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
			}
			a, b := openDSN(t, "pgx", dsn), openDSN(t, "pgx", dsn)
			var r [6]byte
			_, _ = rand.Read(r[:])
			prefix := "sync_migrate_" + hex.EncodeToString(r[:])
			t.Cleanup(func() {
				_, _ = a.Exec("DROP TABLE IF EXISTS " + prefix + "_state")
				_, _ = a.Exec("DROP TABLE IF EXISTS " + prefix + "_leases")
			})
			return a, b, prefix
		}},
	}
	for name, be := range backends {
		t.Run(name, func(t *testing.T) {
			for round := range 8 {
				a, b, prefix := be.open(t)
				sa, err := syncsql.New(a, be.d, prefix)
				require.NoError(t, err)
				sb, err := syncsql.New(b, be.d, prefix)
				require.NoError(t, err)
				require.NoError(t, a.PingContext(ctx))
				require.NoError(t, b.PingContext(ctx))

				var errs [2]error
				var wg gosync.WaitGroup
				start := make(chan struct{})
				for i, s := range []*syncsql.Store{sa, sb} {
					wg.Go(func() {
						<-start
						errs[i] = s.Migrate(ctx)
					})
				}
				close(start)
				wg.Wait()
				require.Equal(t, [2]error{}, errs, "round %d", round)

				c := []byte(`{"link":"https://graph.microsoft.com/v1.0/delta?round=` + strconv.Itoa(round) + `"}`)
				require.NoError(t, sa.Save(ctx, "t/u", "f:inbox", c))
				got, err := sb.Load(ctx, "t/u", "f:inbox")
				require.NoError(t, err)
				require.Equal(t, c, got)
			}
		})
	}
}

func openDSN(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
