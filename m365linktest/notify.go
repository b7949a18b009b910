package m365linktest

import (
	"context"
	"time"

	"github.com/m365link/m365link/internal/fakegraph"
)

// Change notifications. The fake Graph serves /subscriptions: creating one
// runs Graph's validation handshake against its notificationUrl (and
// lifecycleNotificationUrl), and from then on every message, event and
// contact the test adds, updates, moves or deletes is posted to it, in the
// background, as Graph posts change notifications. Unlike Graph the fake
// accepts plain http URLs, so a test serves its handler with
// httptest.NewServer; an https one must have a certificate the system
// trusts.

// Subscription is a change-notification subscription the fake Graph holds.
type Subscription struct {
	// ID is Graph's subscription ID.
	ID string
	// Mailbox is the user ID of the subscribed mailbox.
	Mailbox string
	// Resource is as the client gave it, e.g. "/users/{id}/messages".
	Resource string
	// ChangeType is what the client asked for, e.g. "created,updated,deleted".
	ChangeType string
	// NotificationURL and LifecycleURL are where notifications go
	// (LifecycleURL is "" when the client gave none).
	NotificationURL, LifecycleURL string
	// Expires is the granted expirationDateTime: what the client asked
	// for, capped at 10,080 minutes from when it asked.
	Expires time.Time
	// ReauthorizationRequired is set by [ReauthorizationRequired] until the
	// client reauthorizes or renews; meanwhile no change is delivered.
	ReauthorizationRequired bool
}

// Subscriptions returns the unexpired subscriptions, ordered by ID.
func (t *Tenant) Subscriptions() []Subscription {
	var out []Subscription
	for _, s := range t.graph.Subscriptions() {
		out = append(out, Subscription{ID: s.ID, Mailbox: s.UserID, Resource: s.Resource, ChangeType: s.ChangeType,
			NotificationURL: s.NotificationURL, LifecycleURL: s.LifecycleNotificationURL, Expires: s.ExpirationDateTime,
			ReauthorizationRequired: s.ReauthorizationRequired})
	}
	return out
}

// LifecycleEvent is a lifecycle notification Graph sends to a
// subscription's lifecycleNotificationUrl.
type LifecycleEvent string

// The lifecycle events Graph sends for Outlook resources.
const (
	// Missed says notifications were lost: the client runs a delta round.
	Missed LifecycleEvent = "missed"
	// SubscriptionRemoved says Graph removed the subscription (the fake
	// deletes it as it fires): the client recreates it and runs a delta
	// round.
	SubscriptionRemoved LifecycleEvent = "subscriptionRemoved"
	// ReauthorizationRequired asks the client to reauthorize the
	// subscription (or renew it); until it does, no change is delivered.
	ReauthorizationRequired LifecycleEvent = "reauthorizationRequired"
)

// FireLifecycle posts a lifecycle event for a subscription to its
// lifecycle URL, in the background ([Tenant.FlushNotifications] waits for
// it). It panics for a subscription that does not exist, has expired or
// has no lifecycle URL, as a broken fixture should.
func (t *Tenant) FireLifecycle(subscriptionID string, e LifecycleEvent) {
	if err := t.graph.FireLifecycle(subscriptionID, fakegraph.LifecycleEvent(e)); err != nil {
		panic("m365linktest: " + err.Error())
	}
}

// NotificationFaults spoil the delivery of change notifications (not of
// lifecycle events or validation requests). The zero value spoils nothing.
type NotificationFaults struct {
	// Drop loses every change notification: only polling finds changes.
	Drop bool
	// Delay holds each change notification back this long.
	Delay time.Duration
	// Duplicate posts each change notification twice.
	Duplicate bool
}

// SetNotificationFaults replaces the faults applied to the change
// notifications of changes made from now on.
func (t *Tenant) SetNotificationFaults(f NotificationFaults) {
	t.graph.SetNotificationFaults(fakegraph.NotificationFaults{Drop: f.Drop, Delay: f.Delay, Duplicate: f.Duplicate})
}

// FlushNotifications waits until every notification of the changes made
// so far has been posted (its retries included) or dropped, or ctx ends.
func (t *Tenant) FlushNotifications(ctx context.Context) error {
	return t.graph.FlushNotifications(ctx)
}
