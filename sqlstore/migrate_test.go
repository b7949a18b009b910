package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/sqlstore"
	"github.com/m365link/m365link/tokens"
)

// versions returns the schema versions recorded in the database.
func versions(t *testing.T, db *sql.DB, d database) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT version FROM " + d.table("migrations") + " ORDER BY version")
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestConcurrentFirstMigrate starts two "processes" (two *sql.DB, so two
// connection pools) on a fresh database at the same moment, as two hosts
// deploying together do: both first Migrates succeed, the schema is
// migrated once, and each process sees what the other writes in every
// table. Repeated, because a race loses only sometimes.
func TestConcurrentFirstMigrate(t *testing.T) {
	ctx := context.Background()
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			for round := range 8 {
				d := be.db(t)
				a, b := d.open(t), d.open(t)
				sa, sb := d.store(t, a), d.store(t, b)

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
				require.Equal(t, []int64{1, 2, 3}, versions(t, a, d), "round %d", round)

				k := tokens.Key{Account: m365link.Account{TenantID: "t", UserID: "u"}, Purpose: tokens.PurposeMSAL}
				v, err := sa.Tokens().Put(ctx, k, []byte("written by a"), 0)
				require.NoError(t, err)
				got, err := sb.Tokens().Get(ctx, k)
				require.NoError(t, err)
				require.Equal(t, tokens.Entry{Data: []byte("written by a"), Version: v}, got)

				c := []byte(`{"link":"https://graph.microsoft.com/v1.0/delta?round=` + strconv.Itoa(round) + `"}`)
				require.NoError(t, sa.SyncState().Save(ctx, "t/u", "f:inbox", c))
				state, err := sb.SyncState().Load(ctx, "t/u", "f:inbox")
				require.NoError(t, err)
				require.Equal(t, c, state)

				leases := [2]bool{}
				leases[0], err = sa.Leases().Acquire(ctx, "t/u", "a", time.Minute)
				require.NoError(t, err)
				leases[1], err = sb.Leases().Acquire(ctx, "t/u", "b", time.Minute)
				require.NoError(t, err)
				require.Equal(t, [2]bool{true, false}, leases)

				id, err := sa.ConsentStates().Issue(ctx, attempt(randomID(), time.Now().Add(time.Minute)))
				require.NoError(t, err)
				_, err = sb.ConsentStates().Take(ctx, id)
				require.NoError(t, err)
				_, err = sa.ConsentStates().Take(ctx, id)
				require.Equal(t, consent.ErrStateNotFound, err)
			}
		})
	}
}

// Migrate runs every migration once: a second store, another process on
// the same database, finds nothing to do.
func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			d := be.db(t)
			db := d.open(t)
			require.NoError(t, d.store(t, db).Migrate(ctx))
			require.NoError(t, d.store(t, d.open(t)).Migrate(ctx))
			assert.Equal(t, []int64{1, 2, 3}, versions(t, db, d))
		})
	}
}

// TestDataOfEarlierReleasesLoads writes tables and rows the way
// tokens/sqlstore, sync/syncsql and consent/consentsql did — their DDL and
// default names, with sync state in a TEXT column — and reads every row
// back through the store after Migrate, byte for byte.
func TestDataOfEarlierReleasesLoads(t *testing.T) {
	ctx := context.Background()
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			d := be.db(t)
			db := d.open(t)
			p := d.param
			for _, q := range []string{
				// tokens/sqlstore
				`CREATE TABLE IF NOT EXISTS ` + d.table("tokens") + ` (
	tenant_id VARCHAR(64) NOT NULL,
	user_id VARCHAR(64) NOT NULL,
	purpose VARCHAR(32) NOT NULL,
	data ` + d.binary + ` NOT NULL,
	version BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, purpose)
)`,
				// sync/syncsql, with its prefix "m365link_sync"
				`CREATE TABLE IF NOT EXISTS ` + d.table("sync_state") + ` (
	mailbox VARCHAR(200) NOT NULL,
	folder VARCHAR(300) NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (mailbox, folder))`,
				`CREATE TABLE IF NOT EXISTS ` + d.table("sync_leases") + ` (
	lease_key VARCHAR(200) NOT NULL PRIMARY KEY,
	owner VARCHAR(200) NOT NULL,
	expires BIGINT NOT NULL)`,
				// consent/consentsql
				`CREATE TABLE IF NOT EXISTS ` + d.table("consent_states") + ` (
	state_hash VARCHAR(64) NOT NULL PRIMARY KEY,
	data ` + d.binary + ` NOT NULL,
	expires_at BIGINT NOT NULL
)`,
				"CREATE INDEX IF NOT EXISTS " + d.table("consent_states") + "_expires ON " + d.table("consent_states") + " (expires_at)",
			} {
				_, err := db.ExecContext(ctx, q)
				require.NoError(t, err)
			}

			sealed := []byte{0x01, 0x00, 0xff, 0x80, '\\', 'x'}
			_, err := db.ExecContext(ctx, "INSERT INTO "+d.table("tokens")+" (tenant_id, user_id, purpose, data, version, updated_at) VALUES ("+
				p(1)+", "+p(2)+", "+p(3)+", "+p(4)+", 3, 1700000000000)", "t1", "u1", tokens.PurposeMSAL, sealed)
			require.NoError(t, err)

			// syncsql saved string(value): JSON with escapes, backslashes
			// and characters beyond ASCII.
			record := `{"state":"idle","reason":"folder \"Vendors\\Acme\" \u00fc ü ✓"}`
			cursor := `{"link":"https://graph.microsoft.com/v1.0/users('u1')/mailFolders('AAMk+/=')/messages/delta()?$deltatoken=Lzt%3D","gen":4}`
			for _, row := range [][3]string{{"t1/u1", "", record}, {"t1/u1", "f:AAMk+/=", cursor}, {"t1/u2", "", record}} {
				_, err := db.ExecContext(ctx, "INSERT INTO "+d.table("sync_state")+" (mailbox, folder, data) VALUES ("+p(1)+", "+p(2)+", "+p(3)+")",
					row[0], row[1], row[2])
				require.NoError(t, err)
			}
			_, err = db.ExecContext(ctx, "INSERT INTO "+d.table("sync_leases")+" (lease_key, owner, expires) VALUES ("+p(1)+", "+p(2)+", "+p(3)+")",
				"t1/u1", "old-worker", time.Now().Add(time.Hour).UnixMilli())
			require.NoError(t, err)

			// consentsql's row: keyed by its hash of the state, format 1.
			state := randomID()
			sum := sha256.Sum256([]byte("m365link/consentsql/state\x00" + state))
			expires := time.Now().Add(10 * time.Minute).Truncate(time.Millisecond)
			data := append([]byte{1}, `{"f":"admin-consent","b":"binding-hash","t":"tenant-a","v":"pkce-verifier","n":"oidc-nonce","s":"admin-oid","a":"62e90394-69f5-4237-9190-012177145e10","r":"/settings","e":`+
				strconv.FormatInt(expires.UnixMilli(), 10)+`}`...)
			_, err = db.ExecContext(ctx, "INSERT INTO "+d.table("consent_states")+" (state_hash, data, expires_at) VALUES ("+p(1)+", "+p(2)+", "+p(3)+")",
				base64.RawURLEncoding.EncodeToString(sum[:]), data, expires.UnixMilli())
			require.NoError(t, err)

			s := d.store(t, d.open(t))
			require.NoError(t, s.Migrate(ctx))
			assert.Equal(t, []int64{1, 2, 3}, versions(t, db, d))

			k := tokens.Key{Account: m365link.Account{TenantID: "T1", UserID: "U1"}, Purpose: tokens.PurposeMSAL}
			e, err := s.Tokens().Get(ctx, k)
			require.NoError(t, err)
			assert.Equal(t, tokens.Entry{Data: sealed, Version: 3}, e)
			v, err := s.Tokens().Put(ctx, k, []byte("next"), 3)
			require.NoError(t, err)
			assert.Equal(t, int64(4), v)

			for _, row := range [][3]string{{"t1/u1", "", record}, {"t1/u1", "f:AAMk+/=", cursor}, {"t1/u2", "", record}} {
				got, err := s.SyncState().Load(ctx, row[0], row[1])
				require.NoError(t, err)
				assert.Equal(t, []byte(row[2]), got, "%s %q", row[0], row[1])
			}
			mailboxes, err := s.SyncState().ListMailboxes(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{"t1/u1", "t1/u2"}, mailboxes)
			notText := []byte{0x00, 0xff, 0xfe, '\\', '0'}
			require.NoError(t, s.SyncState().Save(ctx, "t1/u1", "f:AAMk+/=", notText))
			got, err := s.SyncState().Load(ctx, "t1/u1", "f:AAMk+/=")
			require.NoError(t, err)
			assert.Equal(t, notText, got)

			held, err := s.Leases().Acquire(ctx, "t1/u1", "new-worker", time.Minute)
			require.NoError(t, err)
			assert.False(t, held, "the old worker's lease holds")
			held, err = s.Leases().Acquire(ctx, "t1/u1", "old-worker", time.Minute)
			require.NoError(t, err)
			assert.True(t, held, "and its owner renews it")

			a, err := s.ConsentStates().Take(ctx, state)
			require.NoError(t, err)
			assert.True(t, expires.Equal(a.Expires))
			a.Expires = expires
			assert.Equal(t, consent.Attempt{ID: state, Flow: consent.FlowAdminConsent, Binding: "binding-hash", Tenant: "tenant-a",
				Verifier: "pkce-verifier", Nonce: "oidc-nonce", Subject: "admin-oid", AdminRole: consent.RoleGlobalAdministrator,
				ReturnTo: "/settings", Expires: expires}, a)
		})
	}
}
