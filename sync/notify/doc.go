// Package notify keeps Microsoft Graph change-notification subscriptions
// alive for the mailboxes a sync engine watches, and turns notifications
// into sync passes, so that new mail, meetings and contacts reach the host
// in seconds instead of at the next polling interval.
//
//	mgr, err := notify.New(notify.Config{
//		Client: gc, TenantID: tenantID, Tokens: tokensFor,
//		NotificationURL: "https://app.example/m365/notify",
//		Target: engine, Mailboxes: engine.Mailboxes, State: state, Leases: leases,
//	})
//	http.Handle("/m365/notify", mgr.Handler())
//	go mgr.Run(ctx)    // create, renew, recreate, delete subscriptions
//	go engine.Run(ctx) // notifications trigger its passes; polling stays the safety net
//
// A notification carries no content the library uses: it only says that
// a mailbox changed. The [Manager.Handler] checks it (a known
// subscription, its secret clientState, the tenant), saves a small
// pending marker for the mailbox, calls [Target].Trigger (for a
// *sync.Engine: a delta pass as soon as a worker is free; many
// notifications during a pass make one more pass) and answers 202. The
// delta pass does the rest, so a lost, late or doubled notification costs
// at most latency, never data: the engine's Interval polling still runs.
//
// # Subscriptions
//
// [Manager.Reconcile] (which [Manager.Run] calls every Interval) makes one
// subscription per mailbox and [Resource] (default [Mail] and [Events]):
// it creates those missing, renews those whose granted expirationDateTime
// (the truth, not what was asked) falls within RenewMargin plus
// [ClockSkew], makes again those Graph no longer has, and deletes this
// package's subscriptions that no record claims or whose mailbox is no
// longer listed. Lifecycle notifications are acted on: missed triggers a
// pass; subscriptionRemoved makes the subscription again, then triggers;
// reauthorizationRequired reauthorizes (or renews when that fails).
//
// # State and crashes
//
// Records live in the host's sync.StateStore under the mailbox's key,
// with keys prefixed "n:" (the engine's are "" and "f:"): per resource the
// subscription's ID, its clientState and granted expiry. A create first
// saves its intent with the new clientState; a crash between Graph's
// answer and the save leaves a subscription no record names, which the
// next reconciliation finds in GET /subscriptions (resource,
// notificationUrl and clientState) and adopts, or deletes as a duplicate.
// When the engine forgets a mailbox (StateStore.DeleteMailbox) the
// records go too; the subscriptions they named are recognised as this
// package's by their notificationUrl and clientState prefix and deleted.
//
// The pending marker ("n:pending") holds when the latest accepted
// notification came. Reconcile consumes it: when the Target can say when
// the mailbox last finished a pass (it has LoadStatus, as *sync.Engine
// has) the marker is cleared once a pass finished after it, and the
// mailbox is triggered again until then; otherwise the mailbox is
// triggered and the marker cleared. So a worker that crashed after
// answering 202 but before its pass leaves a marker another worker (or
// the restarted one) acts on.
//
// # Several workers
//
// With Leases, each mailbox's subscriptions are reconciled by one worker
// at a time, under the lease "notify:" + the mailbox's key: exactly one
// worker renews a subscription. Any worker's handler accepts any
// notification: a subscription it has not seen yet is looked up in the
// StateStore under the user the notification's resource names (so name
// mailboxes by user object ID, as Engine.Mailboxes does).
//
// When the engines balance mailboxes between them (a sync.LeaseBalancer),
// only the worker that owns a mailbox syncs it, and Trigger on another
// worker does nothing: a notification that reaches a worker not owning
// its mailbox is persisted (the pending marker) but waits for the owner's
// next poll or this manager's next reconciliation. Route notifications to
// the owner, or keep the engine's Interval short, where seconds matter.
//
// # Security
//
// The clientState is 24 random bytes per subscription, compared in
// constant time; it and tokens never reach logs or answers. Bodies are
// capped at [MaxNotificationBytes]. Graph posts only to https URLs; the
// handler must be reachable from the internet, and TLS is the host's.
package notify
