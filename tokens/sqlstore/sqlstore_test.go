package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
	"github.com/m365link/m365link/tokens/sqlstore"
	"github.com/m365link/m365link/tokens/tokenstest"
)

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "tokens.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteContract(t *testing.T) {
	tokenstest.Run(t, func(t *testing.T) tokens.Store {
		s, err := sqlstore.New(openSQLite(t), sqlstore.SQLite, nil)
		require.NoError(t, err)
		return s
	})
}

// TestPostgresContract runs on a real PostgreSQL when M365LINK_TEST_POSTGRES
// holds a DSN (.ci/run starts one); each subtest gets its own table.
func TestPostgresContract(t *testing.T) {
	dsn := os.Getenv("M365LINK_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	tokenstest.Run(t, func(t *testing.T) tokens.Store {
		var b [6]byte
		_, _ = rand.Read(b[:])
		table := "tokens_test_" + hex.EncodeToString(b[:])
		t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
		s, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Table: table})
		require.NoError(t, err)
		return s
	})
}

func TestRejectsUnsafeTableName(t *testing.T) {
	_, err := sqlstore.New(nil, sqlstore.SQLite, &sqlstore.Options{Table: "tokens; DROP TABLE users"})
	require.EqualError(t, err, `sqlstore: table name "tokens; DROP TABLE users" is not a plain SQL identifier`)
}

func TestEncryptedOverSQLite(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlstore.New(openSQLite(t), sqlstore.SQLite, nil)
	require.NoError(t, err)
	key := make([]byte, 32)
	ring, err := tokens.NewKeyRing(1, key)
	require.NoError(t, err)
	s := tokens.NewEncrypted(raw, ring)
	k := tokens.Key{Purpose: tokens.PurposeMSAL}
	k.Account.TenantID, k.Account.UserID = "t", "u"
	_, err = s.Put(ctx, k, []byte("secret"), 0)
	require.NoError(t, err)
	got, err := s.Get(ctx, k)
	require.NoError(t, err)
	require.Equal(t, tokens.Entry{Data: []byte("secret"), Version: 1}, got)
	st, err := tokens.Rewrap(ctx, raw, ring)
	require.NoError(t, err)
	require.Equal(t, tokens.RewrapStats{Current: 1}, st)
}

// TestConcurrentFirstMigrate starts two "processes" (two *sql.DB, so two
// connection pools) on a fresh table at the same moment, as two hosts
// deploying together do: both first Migrates succeed, and each sees what
// the other writes. Repeated, because a race loses only sometimes.
func TestConcurrentFirstMigrate(t *testing.T) {
	ctx := context.Background()
	backends := map[string]struct {
		d    sqlstore.Dialect
		open func(t *testing.T, round int) (a, b *sql.DB, table string)
	}{
		"sqlite": {sqlstore.SQLite, func(t *testing.T, round int) (*sql.DB, *sql.DB, string) {
			dsn := "file:" + filepath.Join(t.TempDir(), "tokens.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
			return openDSN(t, "sqlite", dsn), openDSN(t, "sqlite", dsn), "m365link_tokens"
		}},
		"postgres": {sqlstore.Postgres, func(t *testing.T, round int) (*sql.DB, *sql.DB, string) {
			dsn := os.Getenv("M365LINK_TEST_POSTGRES")
			if dsn == "" {
				t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
			}
			a, b := openDSN(t, "pgx", dsn), openDSN(t, "pgx", dsn)
			var r [6]byte
			_, _ = rand.Read(r[:])
			table := "tokens_migrate_" + hex.EncodeToString(r[:])
			t.Cleanup(func() { _, _ = a.Exec("DROP TABLE IF EXISTS " + table) })
			return a, b, table
		}},
	}
	for name, be := range backends {
		t.Run(name, func(t *testing.T) {
			for round := range 8 {
				a, b, table := be.open(t, round)
				sa, err := sqlstore.New(a, be.d, &sqlstore.Options{Table: table})
				require.NoError(t, err)
				sb, err := sqlstore.New(b, be.d, &sqlstore.Options{Table: table})
				require.NoError(t, err)
				require.NoError(t, a.PingContext(ctx))
				require.NoError(t, b.PingContext(ctx))

				var errs [2]error
				var wg gosync.WaitGroup
				start := make(chan struct{})
				for i, s := range []*sqlstore.Store{sa, sb} {
					wg.Go(func() {
						<-start
						errs[i] = s.Migrate(ctx)
					})
				}
				close(start)
				wg.Wait()
				require.Equal(t, [2]error{}, errs, "round %d", round)

				k := tokens.Key{Account: m365link.Account{TenantID: "t", UserID: "u"}, Purpose: tokens.PurposeMSAL}
				v, err := sa.Put(ctx, k, []byte("written by a"), 0)
				require.NoError(t, err)
				got, err := sb.Get(ctx, k)
				require.NoError(t, err)
				require.Equal(t, tokens.Entry{Data: []byte("written by a"), Version: v}, got)
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
