package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/m365link/m365link/sqlstore"
)

// database is one database to test on and a table prefix no other test
// uses; every pool a test opens on it is a "process" of a host.
type database struct {
	driver, dsn string
	dialect     sqlstore.Dialect
	prefix      string // "" for the default
	binary      string // the dialect's binary column type, for tables made by hand
	param       func(n int) string
}

// table is the name of a table of the store: "tokens", "sync_state"…
func (d database) table(suffix string) string {
	p := d.prefix
	if p == "" {
		p = sqlstore.DefaultPrefix
	}
	return p + "_" + suffix
}

// open returns a new connection pool, closed when the test ends.
func (d database) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// store returns a store on db with the database's prefix.
func (d database) store(t *testing.T, db *sql.DB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, d.dialect, &sqlstore.Options{Prefix: d.prefix})
	require.NoError(t, err)
	return s
}

// newStore returns a store on a pool of its own.
func (d database) newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	return d.store(t, d.open(t))
}

// sqliteDB is a new SQLite file, with the default prefix.
func sqliteDB(t *testing.T) database {
	t.Helper()
	return database{driver: "sqlite", dialect: sqlstore.SQLite, binary: "BLOB", param: func(int) string { return "?" },
		dsn: "file:" + filepath.Join(t.TempDir(), "app.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"}
}

var tables = []string{"tokens", "sync_state", "sync_leases", "sync_workers", "consent_states", "migrations"}

// postgresDB is the PostgreSQL in M365LINK_TEST_POSTGRES (.ci/run starts
// one) with a random prefix whose tables are dropped when the test ends;
// without it the test skips.
func postgresDB(t *testing.T) database {
	t.Helper()
	dsn := os.Getenv("M365LINK_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("M365LINK_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run provides one)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	d := database{driver: "pgx", dsn: dsn, dialect: sqlstore.Postgres, prefix: "test_" + hex.EncodeToString(b[:]), binary: "BYTEA",
		param: func(n int) string { return "$" + strconv.Itoa(n) }}
	db := d.open(t) // registered first, so closed after the drops below
	t.Cleanup(func() {
		for _, s := range tables {
			_, _ = db.Exec("DROP TABLE IF EXISTS " + d.table(s))
		}
	})
	return d
}

// databases are what every store is tested on: SQLite always, PostgreSQL
// when M365LINK_TEST_POSTGRES holds a DSN.
var databases = []struct {
	name string
	db   func(*testing.T) database
}{{"SQLite", sqliteDB}, {"PostgreSQL", postgresDB}}

func TestNewRefusesBadConfiguration(t *testing.T) {
	db := sqliteDB(t).open(t)
	for _, tc := range []struct {
		name string
		db   *sql.DB
		d    sqlstore.Dialect
		opts *sqlstore.Options
		want string
	}{
		{"everything wrong", nil, sqlstore.Dialect{}, &sqlstore.Options{Prefix: "x; DROP TABLE y"},
			`sqlstore: no database; no dialect (SQLite or Postgres); Prefix "x; DROP TABLE y" is not a plain SQL identifier of at most 39 characters`},
		{"leading digit", db, sqlstore.SQLite, &sqlstore.Options{Prefix: "1app"},
			`sqlstore: Prefix "1app" is not a plain SQL identifier of at most 39 characters`},
		{"too long", db, sqlstore.Postgres, &sqlstore.Options{Prefix: strings.Repeat("p", 40)},
			`sqlstore: Prefix "` + strings.Repeat("p", 40) + `" is not a plain SQL identifier of at most 39 characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlstore.New(tc.db, tc.d, tc.opts)
			assert.Nil(t, s)
			assert.EqualError(t, err, tc.want)
		})
	}
	_, err := sqlstore.New(db, sqlstore.SQLite, &sqlstore.Options{Prefix: strings.Repeat("p", 39)})
	assert.NoError(t, err)
	_, err = sqlstore.New(db, sqlstore.SQLite, nil)
	assert.NoError(t, err)
}

func TestDialectNames(t *testing.T) {
	assert.Equal(t, [3]string{"sqlite", "postgres", ""},
		[3]string{sqlstore.SQLite.String(), sqlstore.Postgres.String(), sqlstore.Dialect{}.String()})
}

// Printing or logging the store or any view never shows the database
// handle, whose driver configuration may hold a password.
func TestStorePrintsNoDatabaseDetails(t *testing.T) {
	d := sqliteDB(t)
	d.dsn = strings.Replace(d.dsn, "app.db", "password-hunter2.db", 1)
	s, err := sqlstore.New(d.open(t), d.dialect, &sqlstore.Options{Prefix: "crm"})
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		assert.Equal(t, "sqlstore.Store{sqlite crm}", fmt.Sprintf(verb, s), verb)
		for _, v := range []any{s.Tokens(), s.SyncState(), s.Leases(), s.ConsentStates()} {
			assert.NotContains(t, fmt.Sprintf(verb, v), "hunter2", "%s of %T", verb, v)
		}
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "store", s)
	assert.Contains(t, js.String(), `"store":{"dialect":"sqlite","prefix":"crm"}`)
}
