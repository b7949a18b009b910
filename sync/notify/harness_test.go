package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/notify"
)

// env is a fake tenant with two mailboxes, a notification endpoint that
// serves the latest manager's handler, memory state and a recording
// Target.
type env struct {
	tenant       *m365linktest.Tenant
	alice, bob   m365linktest.User
	state        *m365sync.MemoryState
	target       *recorder
	url          string
	handler      atomic.Pointer[http.Handler]
	mailboxes    atomic.Pointer[[]m365link.Mailbox]
	mailboxCalls atomic.Int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{tenant: m365linktest.New(t), state: &m365sync.MemoryState{}, target: newRecorder()}
	e.alice = e.tenant.AddUser(m365linktest.User{DisplayName: "Alice Smith"})
	e.bob = e.tenant.AddUser(m365linktest.User{DisplayName: "Bob Jones"})
	e.setMailboxes(e.alice.Mailbox(), e.bob.Mailbox())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := e.handler.Load()
		if h == nil {
			http.Error(w, "no manager yet", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/m365/notify"
	return e
}

func (e *env) setMailboxes(mbs ...m365link.Mailbox) { e.mailboxes.Store(&mbs) }

// config is the manager configuration tests start from.
func (e *env) config() notify.Config {
	return notify.Config{
		Client:          e.tenant.Graph(),
		TenantID:        e.tenant.ID(),
		Tokens:          func(m365link.Mailbox) graphclient.TokenSource { return e.tenant.AppToken() },
		NotificationURL: e.url,
		Target:          e.target,
		Mailboxes: func(context.Context) ([]m365link.Mailbox, error) {
			e.mailboxCalls.Add(1)
			return *e.mailboxes.Load(), nil
		},
		State: e.state,
		// Tests count triggers as notifications arrive; the coalescing
		// window has a test of its own.
		Coalesce: -1,
	}
}

// manager makes a manager; the first one made serves the endpoint.
func (e *env) manager(t testing.TB, cfg notify.Config) *notify.Manager {
	t.Helper()
	m, err := notify.New(cfg)
	require.NoError(t, err)
	h := m.Handler()
	e.handler.CompareAndSwap(nil, &h)
	return m
}

// routes counts the subscription requests the fake Graph served.
func (e *env) routes() map[string]int {
	out := map[string]int{}
	for k, v := range e.tenant.Stats("").Routes {
		if strings.Contains(k, "/subscriptions") {
			out[k] = v
		}
	}
	return out
}

// subs returns the fake's subscriptions by mailbox user ID and resource.
func (e *env) subs() map[string]m365linktest.Subscription {
	out := map[string]m365linktest.Subscription{}
	for _, s := range e.tenant.Subscriptions() {
		out[s.Resource] = s
	}
	return out
}

func (e *env) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.tenant.FlushNotifications(ctx))
}

func mailPath(u m365linktest.User) string   { return "/users/" + u.ID + "/messages" }
func eventsPath(u m365linktest.User) string { return "/users/" + u.ID + "/events" }

// recorder is a Target that counts triggers per mailbox key.
type recorder struct {
	mu gosync.Mutex
	n  map[string]int
	ch chan m365link.Mailbox
}

func newRecorder() *recorder {
	return &recorder{n: map[string]int{}, ch: make(chan m365link.Mailbox, 1000)}
}

func (r *recorder) Trigger(mb m365link.Mailbox) {
	r.mu.Lock()
	r.n[mb.Key()]++
	r.mu.Unlock()
	select {
	case r.ch <- mb:
	default:
	}
}

func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.n {
		out[k] = v
	}
	return out
}

// eventually waits for cond, failing the test after 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failingState is memory state whose Save fails while fail says so.
type failingState struct {
	*m365sync.MemoryState
	fail func(mailbox, key string, value []byte) bool
}

func (f *failingState) Save(ctx context.Context, mailbox, key string, value []byte) error {
	if f.fail != nil && f.fail(mailbox, key, value) {
		return errDisk
	}
	return f.MemoryState.Save(ctx, mailbox, key, value)
}

type diskError struct{}

func (diskError) Error() string { return "disk full" }

var errDisk error = diskError{}
