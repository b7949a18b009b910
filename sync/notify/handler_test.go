package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/sync/notify"
)

func serve(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
	return w
}

func TestHandlerAnswersValidation(t *testing.T) {
	e := newEnv(t)
	h := e.manager(t, e.config()).Handler()
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		w := serve(h, method, "/m365/notify?validationToken=Validation%3A+Testing+a%2Bb", "")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, "Validation: Testing a+b", w.Body.String())
	}
}

// changeBody renders a change notification as Graph sends it.
func changeBody(sid, clientState, tenant, userID string) string {
	b, _ := json.Marshal(map[string]any{"value": []map[string]any{{
		"subscriptionId": sid, "subscriptionExpirationDateTime": "2026-11-27T10:00:00.0000000Z", "changeType": "created",
		"resource": "Users/" + userID + "/Messages/AAMkAG", "clientState": clientState, "tenantId": tenant,
		"resourceData": map[string]any{"@odata.type": "#Microsoft.Graph.Message", "id": "AAMkAG"},
	}}})
	return string(b)
}

func TestHandlerRefusesForgeries(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t, e.config())
	require.NoError(t, m.Reconcile(context.Background()))
	sub := e.subs()[mailPath(e.alice)]
	h := m.Handler()
	ctx := context.Background()
	keysBefore, err := e.state.ListKeys(ctx, e.alice.Mailbox().Key())
	require.NoError(t, err)

	cases := []struct {
		name   string
		method string
		body   string
		status int
	}{
		{"wrong clientState", http.MethodPost, changeBody(sub.ID, "m365n1.guessed", e.tenant.ID(), e.alice.ID), http.StatusForbidden},
		{"no clientState", http.MethodPost, strings.Replace(changeBody(sub.ID, "x", e.tenant.ID(), e.alice.ID), `"clientState":"x",`, "", 1), http.StatusForbidden},
		{"unknown subscription", http.MethodPost, changeBody("5f0c6a8e-0000-4000-8000-000000000000", "m365n1.x", e.tenant.ID(), e.alice.ID), http.StatusForbidden},
		{"unknown subscription of an unknown user", http.MethodPost, changeBody("5f0c6a8e-0000-4000-8000-000000000000", "m365n1.x", e.tenant.ID(), "nobody"), http.StatusForbidden},
		{"another tenant", http.MethodPost, changeBody(sub.ID, "m365n1.x", "00000000-0000-4000-8000-00000000beef", e.alice.ID), http.StatusForbidden},
		{"oversized", http.MethodPost, `{"value":[` + strings.Repeat(" ", notify.MaxNotificationBytes) + `]}`, http.StatusRequestEntityTooLarge},
		{"not JSON", http.MethodPost, `{"value":[`, http.StatusBadRequest},
		{"no notification", http.MethodPost, `{"value":[]}`, http.StatusBadRequest},
		{"no subscriptionId", http.MethodPost, `{"value":[{"clientState":"x"}]}`, http.StatusBadRequest},
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := serve(h, c.method, "/m365/notify", c.body)
			assert.Equal(t, c.status, w.Code, w.Body.String())
			assert.NotContains(t, w.Body.String(), "m365n1.")
		})
	}
	assert.Empty(t, e.target.counts(), "nothing triggered")
	keysAfter, err := e.state.ListKeys(ctx, e.alice.Mailbox().Key())
	require.NoError(t, err)
	assert.Equal(t, keysBefore, keysAfter, "nothing saved")
	assert.Equal(t, int64(0), m.Counters().Accepted)
	assert.Equal(t, int64(9), m.Counters().Rejected, "every case but the GET")
}

func TestHandlerAcceptsGraphNotifications(t *testing.T) {
	e := newEnv(t)
	m := e.manager(t, e.config())
	require.NoError(t, m.Reconcile(context.Background()))
	before := time.Now()
	e.tenant.AddMessage(e.alice.ID, "inbox", testMessage("Quote"))
	e.tenant.AddEvent(e.alice.ID, testEvent("Review"))
	e.flush(t)
	// Two notifications, each persisted and triggered: the engine
	// coalesces them into one pass.
	assert.Equal(t, map[string]int{e.alice.Mailbox().Key(): 2}, e.target.counts())
	assert.Equal(t, notify.Counters{Created: 4, Accepted: 2, Triggered: 2, Reconciled: 1}, m.Counters())
	b, err := e.state.Load(context.Background(), e.alice.Mailbox().Key(), "n:pending")
	require.NoError(t, err)
	var p struct {
		V  int       `json:"v"`
		At time.Time `json:"at"`
	}
	require.NoError(t, json.Unmarshal(b, &p))
	assert.Equal(t, 1, p.V)
	assert.True(t, !p.At.Before(before.Truncate(time.Microsecond)) && !p.At.After(time.Now()), "pending at %s", p.At)

	// The next reconciliation triggers the mailbox once more (this Target
	// cannot say whether a pass covered it) and clears the marker.
	require.NoError(t, m.Reconcile(context.Background()))
	assert.Equal(t, map[string]int{e.alice.Mailbox().Key(): 3}, e.target.counts())
	b, err = e.state.Load(context.Background(), e.alice.Mailbox().Key(), "n:pending")
	require.NoError(t, err)
	assert.Empty(t, b)
	require.NoError(t, m.Reconcile(context.Background()))
	assert.Equal(t, map[string]int{e.alice.Mailbox().Key(): 3}, e.target.counts())
}

func TestHandlerOfAnotherWorkerLooksSubscriptionsUp(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.manager(t, e.config()).Reconcile(context.Background()))
	other := e.manager(t, e.config()) // shares the state, has not reconciled
	sub := e.subs()[mailPath(e.alice)]
	w := serve(other.Handler(), http.MethodPost, "/", changeBody(sub.ID, clientStateOf(t, e, "n:messages"), e.tenant.ID(), e.alice.ID))
	assert.Equal(t, http.StatusAccepted, w.Code)
	assert.Equal(t, map[string]int{e.alice.Mailbox().Key(): 1}, e.target.counts())
	// Lifecycle notifications name no user: before its first
	// reconciliation the worker asks Graph to come back.
	w = serve(e.manager(t, e.config()).Handler(), http.MethodPost, "/", `{"value":[{"subscriptionId":"`+sub.ID+`x","clientState":"c","lifecycleEvent":"missed"}]}`)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
}

func TestHandlerAnswers500WhenItCannotPersist(t *testing.T) {
	e := newEnv(t)
	fs := &failingState{MemoryState: e.state, fail: func(_, key string, _ []byte) bool { return key == "n:pending" }}
	cfg := e.config()
	cfg.State = fs
	m := e.manager(t, cfg)
	require.NoError(t, m.Reconcile(context.Background()))
	sub := e.subs()[mailPath(e.alice)]
	w := serve(m.Handler(), http.MethodPost, "/", changeBody(sub.ID, clientStateOf(t, e, "n:messages"), e.tenant.ID(), e.alice.ID))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Empty(t, e.target.counts(), "Graph retries; nothing scheduled meanwhile")
	assert.Equal(t, notify.Counters{Created: 4, Reconciled: 1}, m.Counters())
}

// clientStateOf reads the secret of alice's subscription from its record.
func clientStateOf(t *testing.T, e *env, key string) string {
	t.Helper()
	rec, err := e.state.Load(context.Background(), e.alice.Mailbox().Key(), key)
	require.NoError(t, err)
	var r struct{ ClientState string }
	require.NoError(t, json.Unmarshal(rec, &r))
	require.True(t, strings.HasPrefix(r.ClientState, "m365n1."), r.ClientState)
	return r.ClientState
}

func testMessage(subject string) m365link.Message {
	return m365link.Message{Subject: subject, From: m365link.EmailAddress{Name: "Sam Vendor", Address: "sam@acme.example"}}
}

func testEvent(subject string) m365link.Event {
	start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	return m365link.Event{Subject: subject, Start: start, End: start.Add(time.Hour)}
}

func TestLifecycleEvents(t *testing.T) {
	e := newEnv(t)
	e.setMailboxes(e.alice.Mailbox())
	m := e.manager(t, e.config())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	eventually(t, "the first reconciliation", func() bool { return m.Counters().Reconciled == 1 })
	require.Len(t, e.tenant.Subscriptions(), 2)
	assert.ErrorIs(t, m.Run(ctx), notify.ErrRunning)
	key := e.alice.Mailbox().Key()
	mail := e.subs()[mailPath(e.alice)]

	t.Run("missed", func(t *testing.T) {
		e.tenant.FireLifecycle(mail.ID, m365linktest.Missed)
		e.flush(t)
		assert.Equal(t, map[string]int{key: 1}, e.target.counts(), "one recovery pass")
	})
	t.Run("reauthorizationRequired", func(t *testing.T) {
		e.tenant.FireLifecycle(mail.ID, m365linktest.ReauthorizationRequired)
		e.flush(t)
		eventually(t, "the reauthorization", func() bool { return e.routes()["POST /subscriptions/{id}/reauthorize"] == 1 })
		assert.False(t, e.subs()[mailPath(e.alice)].ReauthorizationRequired)
		assert.Equal(t, map[string]int{key: 1}, e.target.counts(), "no pass for a reauthorization")
	})
	t.Run("subscriptionRemoved", func(t *testing.T) {
		e.tenant.FireLifecycle(mail.ID, m365linktest.SubscriptionRemoved)
		e.flush(t)
		eventually(t, "the new subscription", func() bool { return len(e.tenant.Subscriptions()) == 2 })
		now := e.subs()[mailPath(e.alice)]
		assert.NotEqual(t, mail.ID, now.ID)
		eventually(t, "the pass after it", func() bool { return e.target.counts()[key] == 2 })
		assert.Equal(t, 3, e.routes()["POST /subscriptions"])
		// The new subscription delivers.
		e.tenant.AddMessage(e.alice.ID, "inbox", testMessage("after"))
		e.flush(t)
		assert.Equal(t, map[string]int{key: 3}, e.target.counts())
	})
}
