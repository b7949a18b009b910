package notify_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/notify"
)

func TestReconcileCreatesOncePerMailboxAndResource(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t, e.config())
	before := time.Now()
	require.NoError(t, m.Reconcile(context.Background()))
	after := time.Now()

	subs := e.subs()
	require.Len(t, subs, 4)
	for _, u := range []m365linktest.User{e.alice, e.bob} {
		for _, res := range []string{mailPath(u), eventsPath(u)} {
			s := subs[res]
			assert.Equal(t, m365linktest.Subscription{ID: s.ID, Mailbox: u.ID, Resource: res, ChangeType: "created,updated,deleted",
				NotificationURL: e.url, LifecycleURL: e.url, Expires: s.Expires}, s)
			assert.False(t, s.Expires.Before(before.Add(notify.DefaultLifetime).Truncate(100*time.Nanosecond)), "granted %s", s.Expires)
			assert.False(t, s.Expires.After(after.Add(notify.DefaultLifetime)), "granted %s", s.Expires)
		}
	}
	assert.Equal(t, map[string]int{"GET /subscriptions": 1, "POST /subscriptions": 4}, e.routes())
	assert.Equal(t, notify.Counters{Created: 4, Reconciled: 1}, m.Counters())

	// Nothing to do the second time.
	require.NoError(t, m.Reconcile(context.Background()))
	assert.Equal(t, map[string]int{"GET /subscriptions": 2, "POST /subscriptions": 4}, e.routes())
	assert.Equal(t, subs, e.subs())
	assert.Empty(t, e.target.counts())

	// The records sit under the mailbox's key with the "n:" prefix.
	keys, err := e.state.ListKeys(context.Background(), e.alice.Mailbox().Key())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"n:messages", "n:events"}, keys)
}

// shortLived is a manager whose subscriptions live two hours; longMargin
// renews anything expiring within three.
func shortLived(e *env) notify.Config {
	cfg := e.config()
	cfg.Lifetime = 2 * time.Hour
	return cfg
}

func longMargin(e *env) notify.Config {
	cfg := e.config()
	cfg.RenewMargin = 3 * time.Hour
	return cfg
}

func TestReconcileRenewsByGrantedExpiry(t *testing.T) {
	e := newEnv(t)
	e.setMailboxes(e.alice.Mailbox())
	require.NoError(t, e.manager(t, shortLived(e)).Reconcile(context.Background()))
	created := e.subs()
	require.Len(t, created, 2)

	m := e.manager(t, longMargin(e))
	start := time.Now()
	require.NoError(t, m.Reconcile(context.Background()))
	require.NoError(t, m.Reconcile(context.Background())) // renewed already: nothing to do
	assert.Equal(t, map[string]int{"GET /subscriptions": 3, "POST /subscriptions": 2, "PATCH /subscriptions/{id}": 2}, e.routes())
	assert.Equal(t, notify.Counters{Renewed: 2, Reconciled: 2}, m.Counters())
	for res, s := range e.subs() {
		assert.Equal(t, created[res].ID, s.ID, "renewed in place")
		assert.True(t, s.Expires.After(start.Add(notify.DefaultLifetime-time.Second)), "granted %s", s.Expires)
	}
}

func TestTwoManagersRenewEachSubscriptionOnce(t *testing.T) {
	e := newEnv(t)
	leases := &m365sync.MemoryLeases{}
	first := shortLived(e)
	first.Leases = leases
	require.NoError(t, e.manager(t, first).Reconcile(context.Background()))
	require.Len(t, e.subs(), 4)

	var ms []*notify.Manager
	for _, owner := range []string{"worker-a", "worker-b"} {
		cfg := longMargin(e)
		cfg.Leases, cfg.Owner = leases, owner
		ms = append(ms, e.manager(t, cfg))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { assert.NoError(t, m.Reconcile(context.Background())) })
	}
	wg.Wait()
	assert.Equal(t, 4, e.routes()["PATCH /subscriptions/{id}"])
	assert.Equal(t, int64(4), ms[0].Counters().Renewed+ms[1].Counters().Renewed)
	for _, s := range e.subs() {
		// Four PATCHes and every subscription extended: one each.
		assert.True(t, s.Expires.After(start.Add(notify.DefaultLifetime-time.Second)), "%s granted %s", s.Resource, s.Expires)
	}
}

func TestCrashAfterCreateBeforeSaveIsAdopted(t *testing.T) {
	e := newEnv(t)
	e.setMailboxes(e.alice.Mailbox())
	var failed sync.Once
	fs := &failingState{MemoryState: e.state}
	fs.fail = func(_, key string, value []byte) bool {
		// The save after POST /subscriptions: the record gains its ID.
		crash := false
		if key == "n:messages" && strings.Contains(string(value), `"id":`) {
			failed.Do(func() { crash = true })
		}
		return crash
	}
	cfg := shortLived(e)
	cfg.Resources = []notify.Resource{notify.Mail}
	cfg.State = fs
	m := e.manager(t, cfg)
	err := m.Reconcile(context.Background())
	var se *notify.SubscriptionError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, notify.SubscriptionError{Mailbox: e.alice.Mailbox(), Resource: notify.Mail, Op: "create", Err: se.Err}, *se)
	assert.ErrorIs(t, err, errDisk)
	orphan := e.subs()[mailPath(e.alice)]
	require.NotEmpty(t, orphan.ID, "Graph made the subscription")

	// The next reconciliation adopts it instead of making another.
	require.NoError(t, m.Reconcile(context.Background()))
	assert.Equal(t, map[string]int{"GET /subscriptions": 2, "POST /subscriptions": 1}, e.routes())
	assert.Equal(t, notify.Counters{Adopted: 1, Reconciled: 2}, m.Counters())
	assert.Equal(t, []string{orphan.ID}, ids(e.tenant.Subscriptions()))

	// And it is renewed like any other.
	cfg = longMargin(e)
	cfg.Resources = []notify.Resource{notify.Mail}
	require.NoError(t, e.manager(t, cfg).Reconcile(context.Background()))
	assert.Equal(t, 1, e.routes()["PATCH /subscriptions/{id}"])
	assert.True(t, e.subs()[mailPath(e.alice)].Expires.After(time.Now().Add(notify.DefaultLifetime-time.Minute)))
}

func TestLostCreateAnswerIsAdopted(t *testing.T) {
	e := newEnv(t)
	e.setMailboxes(e.alice.Mailbox())
	// Skip the GET /subscriptions; cut the answer to the POST.
	remove := e.tenant.Inject(m365linktest.Fault{Kind: m365linktest.TruncatedBody, Route: "/subscriptions", Skip: 1, Times: 1})
	defer remove()
	cfg := e.config()
	cfg.Resources = []notify.Resource{notify.Mail}
	m := e.manager(t, cfg)
	err := m.Reconcile(context.Background())
	assert.ErrorIs(t, err, m365link.ErrUnavailable)
	require.Len(t, e.tenant.Subscriptions(), 1)
	orphan := e.tenant.Subscriptions()[0].ID

	require.NoError(t, m.Reconcile(context.Background()))
	assert.Equal(t, []string{orphan}, ids(e.tenant.Subscriptions()))
	assert.Equal(t, notify.Counters{Adopted: 1, Reconciled: 2}, m.Counters())
}

func TestForgottenRecordsSubscriptionsAreReplaced(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t, e.config())
	require.NoError(t, m.Reconcile(context.Background()))
	old := e.subs()
	// The engine drops the mailbox's state (e.g. it left and rejoined the policy).
	require.NoError(t, e.state.DeleteMailbox(context.Background(), e.alice.Mailbox().Key()))

	require.NoError(t, m.Reconcile(context.Background()))
	now := e.subs()
	require.Len(t, now, 4)
	for _, res := range []string{mailPath(e.alice), eventsPath(e.alice)} {
		assert.NotEqual(t, old[res].ID, now[res].ID, "made again")
	}
	for _, res := range []string{mailPath(e.bob), eventsPath(e.bob)} {
		assert.Equal(t, old[res].ID, now[res].ID, "untouched")
	}
	assert.Equal(t, map[string]int{"GET /subscriptions": 2, "POST /subscriptions": 6, "DELETE /subscriptions/{id}": 2}, e.routes())
}

func TestDroppedMailboxSubscriptionsAreDeleted(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t, e.config())
	require.NoError(t, m.Reconcile(context.Background()))
	e.setMailboxes(e.alice.Mailbox())
	require.NoError(t, m.Reconcile(context.Background()))
	assert.ElementsMatch(t, []string{mailPath(e.alice), eventsPath(e.alice)}, resources(e.tenant.Subscriptions()))
	assert.Equal(t, int64(2), m.Counters().Deleted)
	for _, k := range []string{"n:messages", "n:events"} {
		b, err := e.state.Load(context.Background(), e.bob.Mailbox().Key(), k)
		require.NoError(t, err)
		assert.Empty(t, b, k)
	}
}

func TestSubscriptionGoneFromGraphIsRecreated(t *testing.T) {
	e := newEnv(t)
	e.setMailboxes(e.alice.Mailbox())
	cfg := e.config()
	cfg.Resources = []notify.Resource{notify.Mail}
	m := e.manager(t, cfg)
	require.NoError(t, m.Reconcile(context.Background()))
	old := e.tenant.Subscriptions()[0]
	// Graph removes it; the lifecycle notification reaches a manager
	// whose Run is not running: Reconcile notices all the same.
	e.tenant.FireLifecycle(old.ID, m365linktest.SubscriptionRemoved)
	e.flush(t)
	require.NoError(t, m.Reconcile(context.Background()))
	now := e.tenant.Subscriptions()
	require.Len(t, now, 1)
	assert.NotEqual(t, old.ID, now[0].ID)
	assert.Equal(t, mailPath(e.alice), now[0].Resource)
}

func TestReconcileReportsEachFailure(t *testing.T) {
	e := newEnv(t)
	ghost := m365link.Mailbox{TenantID: e.tenant.ID(), UserID: "00000000-0000-4000-8000-000000000000"}
	e.setMailboxes(e.alice.Mailbox(), ghost)
	cfg := e.config()
	cfg.Resources = []notify.Resource{notify.Mail}
	m := e.manager(t, cfg)
	err := m.Reconcile(context.Background())
	var se *notify.SubscriptionError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, ghost, se.Mailbox)
	assert.Equal(t, "create", se.Op)
	assert.ErrorIs(t, err, m365link.ErrNotFound)
	assert.Equal(t, []string{mailPath(e.alice)}, resources(e.tenant.Subscriptions()), "the other mailbox is unaffected")
}

func TestConfigValidate(t *testing.T) {
	err := notify.Config{NotificationURL: "http://example.com/notify", Resources: []notify.Resource{"messages/x", notify.Mail, notify.Mail},
		RenewMargin: time.Minute, Lifetime: 20000 * time.Minute}.Validate()
	var ce *notify.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{
		"TenantID is required",
		"Tokens is required (a token source per mailbox)",
		"NotificationURL must use https (Graph posts to https only; http is allowed on loopback for tests)",
		`Resources[0] "messages/x" is not messages, events, contacts, mailFolders/{id}/messages or contactFolders/{id}/contacts`,
		`Resources[2] "messages" is listed twice`,
		"Target is required (e.g. the sync engine)",
		"Mailboxes is required (e.g. the sync engine's Mailboxes method)",
		"State is required (the sync engine's StateStore)",
		"Lifetime is 333h20m0s; Graph grants at most 168h0m0s",
		"RenewMargin (1m0s) must exceed Interval (15m0s), or a subscription could expire between two reconciliations",
	}, ce.Problems)

	e := newEnv(t)
	cfg := e.config()
	cfg.Resources = []notify.Resource{notify.MailFolder("inbox"), notify.ContactFolder("AAMk=/x"), notify.Contacts}
	assert.NoError(t, cfg.Validate())
	_, err = notify.New(notify.Config{})
	assert.ErrorAs(t, err, &ce)
}

func ids(subs []m365linktest.Subscription) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.ID)
	}
	return out
}

func resources(subs []m365linktest.Subscription) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.Resource)
	}
	return out
}
