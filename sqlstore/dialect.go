package sqlstore

import "strconv"

// Dialect is everything that differs between the databases a [Store] runs
// on; every statement outside it is SQL that both accept. Its fields are
// unexported because the statements are tested on exactly these two
// databases: use [SQLite] or [Postgres].
type Dialect struct {
	name string
	// param returns the n-th (1-based) bind parameter. SQLite's "?" binds
	// by position, so statements number their parameters in text order.
	param func(n int) string
	// binary is the column type for opaque bytes.
	binary string
	// begin opens a migration's transaction on one connection and takes a
	// lock, held until it ends, that makes every other migration of the
	// database wait: two concurrent CREATE TABLE IF NOT EXISTS can
	// otherwise both pass the existence check.
	begin []string
	// utf8 returns an expression for the UTF-8 bytes of a text column.
	utf8 func(column string) string
}

// The dialects a [Store] is tested on.
var (
	// SQLite is for SQLite 3.35 or later, e.g. with modernc.org/sqlite. Its
	// migration takes the database's write lock at BEGIN IMMEDIATE, so
	// give the DSN a busy_timeout (modernc: ?_pragma=busy_timeout(10000))
	// for a second process to wait there rather than fail.
	SQLite = sqlite
	// Postgres is for PostgreSQL (tested on 15), e.g. with the
	// github.com/jackc/pgx/v5/stdlib driver. Its migration takes a
	// transaction-scoped advisory lock, released at COMMIT or ROLLBACK.
	Postgres = postgres
)

var (
	sqlite = Dialect{
		name:   "sqlite",
		param:  func(int) string { return "?" },
		binary: "BLOB",
		begin:  []string{"BEGIN IMMEDIATE"},
		utf8:   func(c string) string { return "CAST(" + c + " AS BLOB)" },
	}
	postgres = Dialect{
		name:   "postgres",
		param:  func(n int) string { return "$" + strconv.Itoa(n) },
		binary: "BYTEA",
		begin:  []string{"BEGIN", "SELECT pg_advisory_xact_lock(" + lockKey + ")"},
		// Not CAST(… AS BYTEA): that reads backslashes as escapes.
		utf8: func(c string) string { return "convert_to(" + c + ", 'UTF8')" },
	}
)

// lockKey names the library's migrations among a PostgreSQL database's
// advisory locks: "m365link" in ASCII, read as a big-endian bigint.
const lockKey = "7868692577026403947"

// String returns the dialect's name: "sqlite" or "postgres".
func (d Dialect) String() string { return d.name }

func (d Dialect) complete() bool { return d.param != nil }
