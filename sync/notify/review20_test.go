package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
)

// Review 20, finding 3: with several workers behind one notification URL,
// a lifecycle notification (which, unlike a change notification, names
// no resource) for a subscription another worker made since this worker's
// last reconciliation is refused with 403: the handler's fallback lookup
// needs the user from the resource. Graph does not retry a 403, so a
// "missed" (recovery round), "reauthorizationRequired" or
// "subscriptionRemoved" that the load balancer sends to that worker is
// lost until the next reconciliation (DefaultInterval, 15 min) at best.
func TestReview20LifecycleForAnotherWorkersNewSubscriptionIsRefused(t *testing.T) {
	e := newEnv(t)
	e.setMailboxes(e.alice.Mailbox())
	leases := &m365sync.MemoryLeases{}
	ca := e.config()
	ca.Leases, ca.Owner = leases, "worker-a"
	a := e.manager(t, ca) // serves the endpoint Graph posts to
	cb := e.config()
	cb.Leases, cb.Owner = leases, "worker-b"
	b := e.manager(t, cb)

	ctx := context.Background()
	require.NoError(t, a.Reconcile(ctx))
	require.NoError(t, b.Reconcile(ctx)) // b is ready and knows the subscriptions
	old := e.subs()[mailPath(e.alice)]

	// Graph removes the mail subscription; worker a makes it again.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	defer func() { cancel(); <-done }()
	e.tenant.FireLifecycle(old.ID, m365linktest.SubscriptionRemoved)
	e.flush(t)
	eventually(t, "the new subscription", func() bool {
		s, ok := e.subs()[mailPath(e.alice)]
		return ok && s.ID != old.ID && clientStateOf(t, e, "n:messages") != "" && a.Counters().Created == 3
	})
	now := e.subs()[mailPath(e.alice)]

	// Graph's next lifecycle event for the new subscription reaches
	// worker b: genuine (right subscription, clientState and tenant).
	body, _ := json.Marshal(map[string]any{"value": []map[string]any{{
		"subscriptionId": now.ID, "subscriptionExpirationDateTime": "2026-11-27T10:00:00.0000000Z",
		"tenantId": e.tenant.ID(), "clientState": clientStateOf(t, e, "n:messages"), "lifecycleEvent": "missed",
	}}})
	// Worker b does not know it yet: 503, which Graph retries; b reads the
	// records again meanwhile, and the retry is accepted.
	w := serve(b.Handler(), http.MethodPost, "/m365/notify", string(body))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "not 403: Graph does not retry that")
	eventually(t, "the retry accepted", func() bool {
		return serve(b.Handler(), http.MethodPost, "/m365/notify", string(body)).Code == http.StatusAccepted
	})
}
