package syncsql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/syncsql"
)

type backend struct {
	name string
	open func(t *testing.T) *syncsql.Store
}

func backends(t *testing.T) []backend {
	out := []backend{{"sqlite", func(t *testing.T) *syncsql.Store {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "sync.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := syncsql.New(db, syncsql.SQLite, "")
		require.NoError(t, err)
		return s
	}}}
	if dsn := os.Getenv("M365LINK_TEST_POSTGRES"); dsn != "" {
		out = append(out, backend{"postgres", func(t *testing.T) *syncsql.Store {
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
		}})
	} else {
		t.Log("M365LINK_TEST_POSTGRES is not set: PostgreSQL not tested here (.ci/run provides one)")
	}
	return out
}

func TestStateStore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			c, err := s.LoadCursor(ctx, "t/u", "f1")
			require.NoError(t, err)
			assert.Equal(t, m365sync.Cursor{}, c)
			want := m365sync.Cursor{Link: "https://graph.microsoft.com/v1.0/users('u')/mailFolders('f1')/messages/delta()?$deltatoken=abc%3D", Generation: 3,
				Unfiltered: true, Resets: []time.Time{time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}, Pending: []m365sync.Removal{{ID: "m1", FolderID: "f1"}}}
			require.NoError(t, s.SaveCursor(ctx, "t/u", "f1", want))
			require.NoError(t, s.SaveCursor(ctx, "t/u", "f2", m365sync.Cursor{Link: "x"}))
			got, err := s.LoadCursor(ctx, "t/u", "f1")
			require.NoError(t, err)
			assert.Equal(t, want, got)
			st := m365sync.Status{Mailbox: m365link.Mailbox{TenantID: "t", UserID: "u", UPN: "alice@contoso.com"}, State: m365sync.StateIncremental, Pages: 4, Items: 31}
			require.NoError(t, s.SaveStatus(ctx, st))
			gotSt, err := s.LoadStatus(ctx, "t/u")
			require.NoError(t, err)
			assert.Equal(t, st, gotSt)
			require.NoError(t, s.DeleteMailbox(ctx, "t/u"))
			got, _ = s.LoadCursor(ctx, "t/u", "f2")
			assert.Equal(t, m365sync.Cursor{}, got)
		})
	}
}

func TestLeases(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			ok, err := s.Acquire(ctx, "t/u", "a", time.Minute)
			require.NoError(t, err)
			assert.True(t, ok)
			ok, _ = s.Acquire(ctx, "t/u", "b", time.Minute)
			assert.False(t, ok, "held by a")
			ok, _ = s.Acquire(ctx, "t/u", "a", time.Minute)
			assert.True(t, ok, "renewal")
			require.NoError(t, s.Release(ctx, "t/u", "b"), "releasing someone else's lease does nothing")
			ok, _ = s.Acquire(ctx, "t/u", "b", time.Minute)
			assert.False(t, ok)
			require.NoError(t, s.Release(ctx, "t/u", "a"))
			ok, _ = s.Acquire(ctx, "t/u", "b", time.Millisecond)
			assert.True(t, ok)
			time.Sleep(5 * time.Millisecond)
			ok, _ = s.Acquire(ctx, "t/u", "a", time.Minute)
			assert.True(t, ok, "an expired lease is taken over")

			// Many contenders, one winner.
			var wg gosync.WaitGroup
			var mu gosync.Mutex
			wins := 0
			for i := range 12 {
				wg.Go(func() {
					ok, err := s.Acquire(ctx, "t/race", "w"+string(rune('a'+i)), time.Minute)
					assert.NoError(t, err)
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			assert.Equal(t, 1, wins)
		})
	}
}

func TestRejectsUnsafePrefix(t *testing.T) {
	_, err := syncsql.New(nil, syncsql.SQLite, "x; DROP TABLE y")
	assert.EqualError(t, err, `syncsql: table prefix "x; DROP TABLE y" is not a plain SQL identifier`)
}
