package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
	m365sync "github.com/m365link/m365link/sync"
)

// Resource is what a subscription watches in each mailbox: the part of
// Graph's resource path after /users/{id}/, such as [Mail] ("messages").
// Graph supports messages, events and contacts of the whole mailbox, and
// the messages or contacts of one folder ([MailFolder], [ContactFolder]).
type Resource string

// The mailbox-wide resources.
const (
	// Mail is every message of the mailbox: /users/{id}/messages.
	Mail Resource = "messages"
	// Events is the mailbox's events: /users/{id}/events.
	Events Resource = "events"
	// Contacts is the mailbox's contacts: /users/{id}/contacts.
	Contacts Resource = "contacts"
)

// MailFolder is the messages of one mail folder, by ID or well-known name
// ("inbox"): /users/{id}/mailFolders/{folder}/messages.
func MailFolder(folder string) Resource {
	return Resource("mailFolders/" + url.PathEscape(folder) + "/messages")
}

// ContactFolder is the contacts of one contact folder, by ID:
// /users/{id}/contactFolders/{folder}/contacts.
func ContactFolder(folder string) Resource {
	return Resource("contactFolders/" + url.PathEscape(folder) + "/contacts")
}

// valid reports whether r is one of the forms Graph supports.
func (r Resource) valid() bool {
	switch r {
	case Mail, Events, Contacts:
		return true
	}
	parts := strings.Split(string(r), "/")
	return len(parts) == 3 && parts[1] != "" && !strings.ContainsAny(parts[1], "?#") &&
		(parts[0] == "mailFolders" && parts[2] == "messages" || parts[0] == "contactFolders" && parts[2] == "contacts")
}

// path is r's Graph resource path in mailbox mb.
func (r Resource) path(mb m365link.Mailbox) string {
	return "/users/" + url.PathEscape(mb.UserID) + "/" + string(r)
}

// Target is what notifications schedule work on: *sync.Engine, whose
// Trigger makes its Run pass over the mailbox as soon as a worker is free
// (many triggers while a pass runs make one more pass, not many). Trigger
// must return quickly: the handler calls it before it answers Graph.
//
// A Target that also has LoadStatus (as *sync.Engine does) lets the
// manager tell when a pass has covered a notification; see [Manager].
type Target interface {
	Trigger(m365link.Mailbox)
}

// statusLoader is the optional capability of a Target to say when a
// mailbox last finished a pass.
type statusLoader interface {
	LoadStatus(ctx context.Context, mailboxKey string) (m365sync.Status, error)
}

// Defaults of [Config].
const (
	// DefaultLifetime is the subscription lifetime asked for: ten minutes
	// under Graph's 10,080-minute maximum for messages, events and
	// contacts (basic notifications). Graph may grant less; the granted
	// expirationDateTime is what the manager goes by.
	DefaultLifetime = 10070 * time.Minute
	// DefaultRenewMargin is how long before its granted expiry a
	// subscription is renewed.
	DefaultRenewMargin = time.Hour
	// DefaultInterval is how often Run reconciles.
	DefaultInterval = 15 * time.Minute
	// DefaultCoalesce is how long a mailbox's notifications are gathered
	// before its sync is triggered.
	DefaultCoalesce = 100 * time.Millisecond
	// MaxNotificationBytes caps a notification body; a longer one is
	// refused with 413. Graph's batches of basic notifications are a few
	// kilobytes.
	MaxNotificationBytes = 1 << 20
	// ClockSkew is added to RenewMargin so that a worker whose clock runs
	// behind Graph's still renews in time.
	ClockSkew = 5 * time.Minute
)

// Config configures a [Manager]. TenantID, Tokens, NotificationURL,
// Target, Mailboxes and State are required; the other fields have the
// defaults their docs give.
type Config struct {
	// Client is the process's shared Graph client; nil makes one for the
	// global cloud. Share the one the sync engine uses.
	Client *graphclient.Client
	// TenantID is the tenant whose mailboxes are watched; notifications
	// for another tenant are refused.
	TenantID string
	// Tokens returns the token source for a mailbox's subscriptions (the
	// app-only source for every mailbox, or each user's delegated one).
	// Tokens of a Mailbox with only TenantID set lists the app's
	// subscriptions (GET /subscriptions): an app-only token sees all of
	// them.
	Tokens func(m365link.Mailbox) graphclient.TokenSource
	// NotificationURL is where Graph posts change notifications: an
	// https URL that reaches [Manager.Handler] (http only on a loopback
	// host, for tests against a fake Graph).
	NotificationURL string
	// LifecycleURL is where Graph posts lifecycle notifications (missed,
	// subscriptionRemoved, reauthorizationRequired); default
	// NotificationURL, since the Handler tells the two apart by their
	// bodies.
	LifecycleURL string
	// Resources are watched in every mailbox; default Mail and Events.
	Resources []Resource
	// Target is told which mailboxes changed, e.g. a *sync.Engine.
	Target Target
	// Mailboxes lists the mailboxes to watch, e.g. a sync.Engine's
	// Mailboxes method. Subscriptions of mailboxes it no longer lists are
	// deleted. Name mailboxes by user object ID (as Engine.Mailboxes does)
	// so that a notification's resource (Users/{objectId}/…) names them.
	Mailboxes func(context.Context) ([]m365link.Mailbox, error)
	// State keeps the subscriptions' records, in the sync engine's
	// StateStore (keys prefixed "n:"). Required.
	State m365sync.StateStore
	// Leases, when set, lets several workers share the subscriptions:
	// each mailbox's are reconciled by one worker at a time, under the
	// lease "notify:" + its key.
	Leases m365sync.LeaseStore
	// Lifetime is asked for on create and renewal; default
	// [DefaultLifetime], at most 10,080 minutes.
	Lifetime time.Duration
	// RenewMargin: a subscription whose granted expiry is within
	// RenewMargin (plus [ClockSkew]) is renewed; default
	// [DefaultRenewMargin]. It must exceed Interval.
	RenewMargin time.Duration
	// Interval between Run's reconciliations; default [DefaultInterval].
	Interval time.Duration
	// Coalesce is how long the notifications of one mailbox are gathered
	// before its sync is triggered, so that a burst (ten new messages in a
	// moment, each notified) makes one delta pass, not ten; default
	// [DefaultCoalesce]. Notifications arriving while that pass runs make
	// one more. Negative triggers at once.
	Coalesce time.Duration
	// Logger receives what the manager does (never clientState or
	// tokens); nil discards.
	Logger *slog.Logger
	// Owner names this worker in leases; default host name, process ID
	// and a random suffix.
	Owner string
}

// ConfigError lists every problem of a [Config].
type ConfigError struct {
	// Problems name each bad field and what is allowed.
	Problems []string
}

// Error lists the problems.
func (e *ConfigError) Error() string {
	return "notify: invalid Config: " + strings.Join(e.Problems, "; ")
}

// maxLifetime is Graph's longest subscription to messages, events and
// contacts.
const maxLifetime = 10080 * time.Minute

// Validate reports every problem of c at once as a *[ConfigError]; nil
// when c is usable.
func (c Config) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.TenantID == "" {
		bad("TenantID is required")
	}
	if c.Tokens == nil {
		bad("Tokens is required (a token source per mailbox)")
	}
	if c.Client != nil && graph.FromHandle(c.Client) == nil {
		bad("Client was not made by graphclient.New")
	}
	if c.NotificationURL == "" {
		bad("NotificationURL is required")
	} else if err := checkURL(c.NotificationURL); err != nil {
		bad("NotificationURL %v", err)
	}
	if c.LifecycleURL != "" {
		if err := checkURL(c.LifecycleURL); err != nil {
			bad("LifecycleURL %v", err)
		}
	}
	seen := map[Resource]bool{}
	for i, r := range c.Resources {
		if !r.valid() {
			bad("Resources[%d] %q is not messages, events, contacts, mailFolders/{id}/messages or contactFolders/{id}/contacts", i, r)
		}
		if seen[r] {
			bad("Resources[%d] %q is listed twice", i, r)
		}
		seen[r] = true
	}
	if c.Target == nil {
		bad("Target is required (e.g. the sync engine)")
	}
	if c.Mailboxes == nil {
		bad("Mailboxes is required (e.g. the sync engine's Mailboxes method)")
	}
	if c.State == nil {
		bad("State is required (the sync engine's StateStore)")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Lifetime", c.Lifetime}, {"RenewMargin", c.RenewMargin}, {"Interval", c.Interval}} {
		if d.v < 0 {
			bad("%s is negative; 0 takes the default", d.name)
		}
	}
	d := c.withDefaults()
	if d.Lifetime > maxLifetime {
		bad("Lifetime is %s; Graph grants at most %s", d.Lifetime, maxLifetime)
	}
	if d.RenewMargin <= d.Interval {
		bad("RenewMargin (%s) must exceed Interval (%s), or a subscription could expire between two reconciliations", d.RenewMargin, d.Interval)
	}
	if d.Lifetime <= d.RenewMargin+ClockSkew {
		bad("Lifetime (%s) must exceed RenewMargin (%s) plus %s of clock skew, or every reconciliation renews", d.Lifetime, d.RenewMargin, ClockSkew)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Problems: errs}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("must be an absolute https URL without credentials or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() || u.Hostname() == "localhost" {
			return nil
		}
	}
	return errors.New("must use https (Graph posts to https only; http is allowed on loopback for tests)")
}

func (c Config) withDefaults() Config {
	if len(c.Resources) == 0 {
		c.Resources = []Resource{Mail, Events}
	}
	if c.LifecycleURL == "" {
		c.LifecycleURL = c.NotificationURL
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.RenewMargin <= 0 {
		c.RenewMargin = DefaultRenewMargin
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Coalesce == 0 {
		c.Coalesce = DefaultCoalesce
	}
	return c
}
