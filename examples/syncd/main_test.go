package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/sinktest"
)

// lockedBuffer is the daemon's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon runs the daemon until stop is called, which cancels it as SIGTERM
// does and returns what it printed.
func daemon(t *testing.T, cfg config) (stop func() string, out *lockedBuffer) {
	ctx, cancel := context.WithCancel(context.Background())
	out = &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out) }()
	return func() string {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("the daemon did not stop")
		}
		return out.String()
	}, out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDaemonOnFake(t *testing.T) {
	tenant := m365linktest.New(t)
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 2, WithoutMailbox: 1, MessagesPerMailbox: 60, EventsPerMailbox: 6, Vendors: 4, Seed: 9})
	dir := t.TempDir()
	db, err := openDB(filepath.Join(dir, "sync.db"))
	require.NoError(t, err)
	defer db.Close()
	policy := m365sync.Policy{Users: []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"}}
	reload := make(chan struct{})
	var mu sync.Mutex
	cfg := config{Tenant: tenant.ID(), Graph: tenant.Graph(), Token: tenant.AppToken(), DB: db, Policy: policy,
		Interval: 50 * time.Millisecond, Workers: 4, StatusEvery: 20 * time.Millisecond, Reload: reload,
		LoadPolicy: func() (m365sync.Policy, error) { mu.Lock(); defer mu.Unlock(); return policy, nil }}
	messages := func(who string) int {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM syncd_messages WHERE mailbox LIKE ?`, tenant.ID()+"/%").Scan(&n)
		for _, u := range gen.Users {
			if u.UPN == who {
				_ = db.QueryRow(`SELECT count(*) FROM syncd_messages WHERE mailbox = ?`, u.Mailbox().Key()).Scan(&n)
			}
		}
		return n
	}

	stop, _ := daemon(t, cfg)
	waitFor(t, "both mailboxes synced", func() bool { return messages("") == 120 })
	// A new message arrives; the next pass brings it.
	tenant.AddMessage("alice@contoso.com", "inbox", m365link.Message{Subject: "Revised quotation", From: m365link.EmailAddress{Address: "ann@acme.example"}})
	waitFor(t, "the new message", func() bool { return messages("alice@contoso.com") == 61 })
	// The policy drops bob: his mail leaves the database.
	mu.Lock()
	policy = m365sync.Policy{Users: []string{"alice@contoso.com", "carol@contoso.com"}}
	mu.Unlock()
	reload <- struct{}{}
	waitFor(t, "bob removed", func() bool { return messages("bob@contoso.com") == 0 })
	out := stop()
	assert.Contains(t, out, "syncd: syncing tenant "+tenant.ID())
	assert.Contains(t, out, "syncd: alice@contoso.com is idle\n")
	assert.Contains(t, out, "syncd: carol@contoso.com is not mail-enabled: no Exchange Online mailbox")
	assert.Contains(t, out, "syncd: policy re-read\n")
	assert.Contains(t, out, "\nMAILBOX            STATE             MESSAGES  EVENTS  LAST SYNC")
	// The stop may catch alice in a pass: idle or incremental.
	assert.Regexp(t, `\nalice@contoso\.com +(idle|incremental) +61 +6 +\d{4}-`, out)
	assert.True(t, strings.HasSuffix(out, "syncd: stopped cleanly; the next start resumes where each mailbox stopped\n"), out)

	// A restart resumes from the saved cursors: no full resync.
	cfg.Policy = m365sync.Policy{Users: []string{"alice@contoso.com"}}
	stop, live := daemon(t, cfg)
	waitFor(t, "alice idle again", func() bool { return strings.Contains(live.String(), "syncd: alice@contoso.com is idle\n") })
	out = stop()
	m := regexp.MustCompile(`syncd: (\d+) passes, (\d+) items, `).FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, m)
	items, _ := strconv.Atoi(m[len(m)-1][2])
	assert.Less(t, items, 61, "alice's mail is not fetched again")
	assert.Equal(t, 61, messages("alice@contoso.com"))
}

func TestPolicyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"groups": ["g1"], "denyUsers": ["ceo@contoso.com"]}`), 0o600))
	p, err := loadPolicy(path)
	require.NoError(t, err)
	assert.Equal(t, m365sync.Policy{Groups: []string{"g1"}, DenyUsers: []string{"ceo@contoso.com"}}, p)

	require.NoError(t, os.WriteFile(path, []byte(`{"user": ["alice@contoso.com"]}`), 0o600))
	_, err = loadPolicy(path)
	assert.ErrorContains(t, err, `unknown field "user"`)

	require.NoError(t, os.WriteFile(path, []byte(`{"denyUsers": ["x"]}`), 0o600))
	_, err = loadPolicy(path)
	assert.ErrorContains(t, err, "selects no mailbox")
}

func TestFromEnv(t *testing.T) {
	var cfg config
	err := fromEnv(&cfg, func(string) string { return "" })
	assert.EqualError(t, err, "set M365LINK_TENANT_ID, M365LINK_CLIENT_ID and M365LINK_CLIENT_SECRET (or run with -fake)")
	env := map[string]string{"M365LINK_TENANT_ID": "t", "M365LINK_CLIENT_ID": "c", "M365LINK_CLIENT_SECRET": "s"}
	require.NoError(t, fromEnv(&cfg, func(k string) string { return env[k] }))
	assert.Equal(t, "t", cfg.Tenant)
}

// The daemon's sink keeps the sync engine's contract.
func TestSinkContract(t *testing.T) {
	newSinkForTest := func(t *testing.T) *sink {
		db, err := openDB(filepath.Join(t.TempDir(), "s.db"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := newSink(context.Background(), db)
		require.NoError(t, err)
		return s
	}
	contents := func(s *sink, table string) sinktest.Contents {
		return func(ctx context.Context, mb m365link.Mailbox) (map[string]string, error) {
			rows, err := s.db.QueryContext(ctx, `SELECT id, folder FROM `+table+` WHERE mailbox = ?`, mb.Key())
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			out := map[string]string{}
			for rows.Next() {
				var id, folder string
				if err := rows.Scan(&id, &folder); err != nil {
					return nil, err
				}
				out[id] = folder
			}
			return out, rows.Err()
		}
	}
	sinktest.RunSink(t, func(t *testing.T) (m365sync.Sink, sinktest.Contents) {
		s := newSinkForTest(t)
		return s, contents(s, "syncd_messages")
	})
	sinktest.RunEventSink(t, func(t *testing.T) (m365sync.EventSink, sinktest.Contents) {
		s := newSinkForTest(t)
		return s, contents(s, "syncd_events")
	})
}
