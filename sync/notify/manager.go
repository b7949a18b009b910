package notify

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
)

// Errors the manager returns.
var (
	// ErrRunning: Run was called while it already runs.
	ErrRunning = errors.New("notify: Run is already running")
	// ErrMalformedSubscription: Graph answered a subscription call with a
	// body the manager cannot use (no ID).
	ErrMalformedSubscription = errors.New("notify: Graph's subscription answer has no ID")
)

// SubscriptionError is the failure of one subscription of one mailbox;
// the others are reconciled regardless. Err is the typed cause
// (errors.Is and errors.As see through it, e.g. to a
// *m365link.GraphError or m365link.ErrThrottled).
type SubscriptionError struct {
	// Mailbox and Resource name the subscription.
	Mailbox  m365link.Mailbox
	Resource Resource
	// Op is what failed: "create", "renew", "adopt", "delete", "load", "reauthorize".
	Op  string
	Err error
}

// Error names the operation, the subscription and the cause.
func (e *SubscriptionError) Error() string {
	return "notify: " + e.Op + " subscription to " + string(e.Resource) + " of " + e.Mailbox.String() + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *SubscriptionError) Unwrap() error { return e.Err }

// Counters are totals since the manager started, for a host's metrics.
type Counters struct {
	// Created, Renewed, Adopted and Deleted count subscription calls that
	// succeeded; Adopted are subscriptions a crashed create left behind.
	Created, Renewed, Adopted, Deleted, Reauthorized int64
	// Accepted and Rejected count notifications (each item of a body).
	Accepted, Rejected int64
	// Triggered counts Target.Trigger calls.
	Triggered int64
	// Reconciled counts the reconciliations that finished, with errors or not.
	Reconciled int64
}

// Manager keeps one subscription per watched resource alive in every
// mailbox and turns notifications into [Target] triggers; see the package
// doc. It is safe for concurrent use.
type Manager struct {
	cfg   Config
	gc    *graph.Client
	log   *slog.Logger
	owner string

	mu    gosync.Mutex
	index map[string]entry // subscription ID -> what it watches
	ready bool             // a reconciliation has filled index

	locksMu gosync.Mutex
	locks   map[string]*gosync.Mutex // one reconciliation per mailbox in this process

	work       chan work
	running    atomic.Bool
	refreshing atomic.Bool // refreshIndex runs

	pendMu  gosync.Mutex
	pending map[string]bool // mailboxes whose trigger waits out Coalesce

	created, renewed, adopted, deleted, reauthorized, accepted, rejected, triggered, reconciled atomic.Int64
}

// entry is a subscription as the handler checks notifications against it.
type entry struct {
	mb          m365link.Mailbox
	res         Resource
	clientState string
}

// work is a lifecycle event for Run to act on.
type work struct {
	e     entry
	sid   string
	event string
	tries int
}

// leaseTTL bounds how long a crashed worker holds a mailbox's
// subscriptions; a reconciliation of one mailbox takes a few requests.
const leaseTTL = 5 * time.Minute

// New checks cfg (see [Config.Validate]) and returns a manager.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Client == nil {
		gc, err := graphclient.New(graphclient.Config{Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		cfg.Client = gc
	}
	m := &Manager{cfg: cfg, gc: graph.FromHandle(cfg.Client), log: cfg.Logger, owner: cfg.Owner,
		index: map[string]entry{}, locks: map[string]*gosync.Mutex{}, work: make(chan work, 256)}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		m.owner = host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	}
	return m, nil
}

// Counters returns the totals so far.
func (m *Manager) Counters() Counters {
	return Counters{Created: m.created.Load(), Renewed: m.renewed.Load(), Adopted: m.adopted.Load(), Deleted: m.deleted.Load(),
		Reauthorized: m.reauthorized.Load(), Accepted: m.accepted.Load(), Rejected: m.rejected.Load(), Triggered: m.triggered.Load(),
		Reconciled: m.reconciled.Load()}
}

// Run reconciles at once, then every Interval, and acts on lifecycle
// events the [Manager.Handler] received: it recreates a removed
// subscription (then triggers a pass over its mailbox) and reauthorizes
// one that asks for it. A failed reconciliation is logged and tried again
// at the next interval. Run returns ctx's error when ctx ends, or
// [ErrRunning] if called while it runs.
func (m *Manager) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := m.Reconcile(ctx); err != nil && ctx.Err() == nil {
				m.log.LogAttrs(ctx, slog.LevelWarn, "notify: reconcile", slog.String("error", err.Error()))
			}
			t.Reset(m.cfg.Interval)
		case w := <-m.work:
			m.lifecycle(ctx, w)
		}
	}
}

// Reconcile makes the subscriptions match the mailboxes: for each mailbox
// Mailboxes lists and each resource, it creates the subscription when
// there is none (or Graph no longer has it), renews it when its granted
// expiry is within RenewMargin, adopts one a crashed create left behind,
// and deletes this package's subscriptions that no record claims or whose
// mailbox is no longer listed. It also triggers mailboxes whose accepted
// notifications a pass may not have covered yet. With Leases, a mailbox
// another worker is reconciling is left to it. It returns every failure
// joined, each a *[SubscriptionError] where it concerns one subscription.
func (m *Manager) Reconcile(ctx context.Context) error {
	mbs, err := m.cfg.Mailboxes(ctx)
	if err != nil {
		return fmt.Errorf("notify: list mailboxes: %w", err)
	}
	listedAt := time.Now()
	all, listErr := m.list(ctx, m.cfg.Tokens(m365link.Mailbox{TenantID: m.cfg.TenantID}))
	byUser := map[string][]wireSub{}
	for _, s := range all {
		if m.ours(s) {
			u := strings.ToLower(userOf(s.Resource))
			byUser[u] = append(byUser[u], s)
		}
	}
	var (
		errsMu gosync.Mutex
		errs   []error
		wg     gosync.WaitGroup
		sem    = make(chan struct{}, 4)
	)
	current := map[string]bool{}
	for _, mb := range mbs {
		if mb.TenantID == "" {
			mb.TenantID = m.cfg.TenantID
		}
		current[strings.ToLower(mb.UserID)] = true
		l := listing{at: listedAt, known: listErr == nil, subs: byUser[strings.ToLower(mb.UserID)]}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := m.reconcileMailbox(ctx, mb, l); err != nil {
				errsMu.Lock()
				errs = append(errs, err)
				errsMu.Unlock()
			}
		})
	}
	wg.Wait()
	if listErr != nil {
		errs = append(errs, fmt.Errorf("notify: list subscriptions: %w", listErr))
	} else {
		for u, subs := range byUser {
			if !current[u] {
				if err := m.dropMailbox(ctx, m365link.Mailbox{TenantID: m.cfg.TenantID, UserID: userOf(subs[0].Resource)}, subs); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	m.mu.Lock()
	m.ready = true
	m.mu.Unlock()
	m.reconciled.Add(1)
	return errors.Join(errs...)
}

// listing is what GET /subscriptions said of one mailbox's subscriptions
// that are this package's.
type listing struct {
	at    time.Time
	known bool // the list was read
	subs  []wireSub
}

func (l listing) has(id string) bool {
	for _, s := range l.subs {
		if s.ID == id {
			return true
		}
	}
	return false
}

// reconcileMailbox reconciles one mailbox's subscriptions under its lock
// and lease.
func (m *Manager) reconcileMailbox(ctx context.Context, mb m365link.Mailbox, l listing) error {
	unlock := m.lock(mb.Key())
	defer unlock()
	held, release, err := m.lease(ctx, mb)
	if err != nil {
		return err
	}
	if !held {
		// Another worker reconciles it; its records still tell this
		// worker's handler which notifications are genuine.
		for _, r := range m.cfg.Resources {
			if rec, err := m.loadRecord(ctx, mb.Key(), r); err == nil && rec.ID != "" {
				m.remember(rec, r)
			}
		}
		return nil
	}
	defer release()
	tok := m.cfg.Tokens(mb)
	if !l.known {
		// The tenant-wide list failed (a delegated token sees only its
		// user's subscriptions): list with the mailbox's own token.
		subs, err := m.list(ctx, tok)
		l = listing{at: time.Now(), known: err == nil}
		for _, s := range subs {
			if m.ours(s) && strings.EqualFold(userOf(s.Resource), mb.UserID) {
				l.subs = append(l.subs, s)
			}
		}
	}
	var errs []error
	claimed := map[string]bool{}
	sweep := l.known
	for _, r := range m.cfg.Resources {
		rec, err := m.loadRecord(ctx, mb.Key(), r)
		if err != nil {
			errs = append(errs, &SubscriptionError{Mailbox: mb, Resource: r, Op: "load", Err: err})
			sweep = false // what it names is unknown: delete nothing
			continue
		}
		rec, err = m.reconcileOne(ctx, mb, r, rec, l, tok)
		if rec.ID != "" {
			claimed[rec.ID] = true
			m.remember(rec, r)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if sweep {
		for _, s := range l.subs {
			if !claimed[s.ID] {
				if err := m.deleteSub(ctx, s.ID, tok); err != nil {
					errs = append(errs, &SubscriptionError{Mailbox: mb, Resource: Resource(s.Resource), Op: "delete", Err: err})
				}
			}
		}
	}
	m.consumePending(ctx, mb)
	return errors.Join(errs...)
}

// reconcileOne brings one subscription up to date and returns its record
// as saved.
func (m *Manager) reconcileOne(ctx context.Context, mb m365link.Mailbox, r Resource, rec record, l listing, tok graphclient.TokenSource) (record, error) {
	now := time.Now()
	fail := func(op string, err error) error {
		return &SubscriptionError{Mailbox: mb, Resource: r, Op: op, Err: err}
	}
	switch {
	case rec.ID != "" && rec.Expires.After(now) && (!l.known || l.has(rec.ID) || rec.At.After(l.at)):
		// Alive, as far as the list (or a record saved after it) says.
		if rec.Expires.After(now.Add(m.cfg.RenewMargin + ClockSkew)) {
			return rec, nil
		}
		renewed, err := m.renew(ctx, r, rec, tok)
		if errors.Is(err, m365link.ErrNotFound) {
			m.forget(rec.ID)
			break // gone: make it again
		}
		if err != nil {
			return rec, fail("renew", err)
		}
		return renewed, nil
	case rec.ID == "" && !rec.Creating.IsZero():
		if !l.known {
			return rec, fail("adopt", errors.New("GET /subscriptions failed, so a create that may have reached Graph cannot be resolved yet"))
		}
		for _, s := range l.subs {
			if sameResource(s.Resource, rec.Resource) && subtle.ConstantTimeCompare([]byte(s.ClientState), []byte(rec.ClientState)) == 1 {
				rec.ID, rec.Expires, rec.Creating = s.ID, parseTime(s.ExpirationDateTime), time.Time{}
				if err := m.saveRecord(ctx, r, rec); err != nil {
					return record{}, fail("adopt", err)
				}
				m.adopted.Add(1)
				m.log.LogAttrs(ctx, slog.LevelInfo, "notify: adopted a subscription an interrupted create left", mbAttr(mb), slog.String("resource", string(r)))
				return rec, nil // another match, if any, is unclaimed: swept
			}
		}
	case rec.ID != "":
		m.forget(rec.ID) // expired, or no longer listed: Graph has it no more
	}
	rec, err := m.create(ctx, mb, r, tok)
	if err != nil {
		return rec, fail("create", err)
	}
	return rec, nil
}

// dropMailbox deletes the subscriptions of a mailbox no longer listed and
// empties its records.
func (m *Manager) dropMailbox(ctx context.Context, mb m365link.Mailbox, subs []wireSub) error {
	unlock := m.lock(mb.Key())
	defer unlock()
	held, release, err := m.lease(ctx, mb)
	if err != nil || !held {
		return err
	}
	defer release()
	tok := m.cfg.Tokens(mb)
	var errs []error
	for _, s := range subs {
		if err := m.deleteSub(ctx, s.ID, tok); err != nil {
			errs = append(errs, &SubscriptionError{Mailbox: mb, Resource: Resource(s.Resource), Op: "delete", Err: err})
		}
	}
	for _, r := range m.cfg.Resources {
		if err := m.cfg.State.Save(ctx, mb.Key(), recordKey(r), nil); err != nil {
			errs = append(errs, &SubscriptionError{Mailbox: mb, Resource: r, Op: "delete", Err: err})
		}
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "notify: mailbox no longer watched; its subscriptions deleted", mbAttr(mb), slog.Int("subscriptions", len(subs)))
	return errors.Join(errs...)
}

// consumePending triggers a mailbox whose accepted notifications no pass
// has covered yet, and clears the marker once one has (or, when the
// Target cannot say, once it was triggered).
func (m *Manager) consumePending(ctx context.Context, mb m365link.Mailbox) {
	p, err := m.loadPending(ctx, mb.Key())
	if err != nil || p.At.IsZero() {
		return
	}
	if sl, ok := m.cfg.Target.(statusLoader); ok {
		if st, err := sl.LoadStatus(ctx, mb.Key()); err == nil && st.LastSync.After(p.At) {
			_ = m.cfg.State.Save(ctx, mb.Key(), pendingKey, nil)
			return
		}
		m.trigger(mb)
		return
	}
	m.trigger(mb)
	_ = m.cfg.State.Save(ctx, mb.Key(), pendingKey, nil)
}

// trigger asks the Target for a pass over mb once the mailbox's
// notifications of the next Coalesce have gathered: one trigger for a
// burst.
func (m *Manager) trigger(mb m365link.Mailbox) {
	if m.cfg.Coalesce < 0 {
		m.triggered.Add(1)
		m.cfg.Target.Trigger(mb)
		return
	}
	k := mb.Key()
	m.pendMu.Lock()
	defer m.pendMu.Unlock()
	if m.pending[k] {
		return
	}
	if m.pending == nil {
		m.pending = map[string]bool{}
	}
	m.pending[k] = true
	time.AfterFunc(m.cfg.Coalesce, func() {
		m.pendMu.Lock()
		delete(m.pending, k)
		m.pendMu.Unlock()
		m.triggered.Add(1)
		m.cfg.Target.Trigger(mb)
	})
}

// lifecycle acts on a lifecycle event in Run.
func (m *Manager) lifecycle(ctx context.Context, w work) {
	var err error
	switch w.event {
	case lifecycleRemoved:
		err = m.recreate(ctx, w)
	case lifecycleReauthorize:
		err = m.reauthorize(ctx, w)
	}
	if err == nil {
		return
	}
	m.log.LogAttrs(ctx, slog.LevelWarn, "notify: lifecycle event", mbAttr(w.e.mb), slog.String("event", w.event), slog.Int("try", w.tries+1), slog.String("error", err.Error()))
	if w.tries++; w.tries < 8 {
		// Tried again in a while (a lease held elsewhere, Graph failing);
		// Reconcile remains the backstop.
		time.AfterFunc(time.Duration(w.tries)*time.Second, func() {
			select {
			case m.work <- w:
			default:
			}
		})
	}
}

var errLeaseHeld = errors.New("notify: another worker holds the mailbox")

// recreate makes a removed subscription again, then triggers a pass that
// picks up what changed while there was none.
func (m *Manager) recreate(ctx context.Context, w work) error {
	mb, r := w.e.mb, w.e.res
	unlock := m.lock(mb.Key())
	defer unlock()
	held, release, err := m.lease(ctx, mb)
	if err != nil {
		return err
	}
	if !held {
		return errLeaseHeld
	}
	defer release()
	rec, err := m.loadRecord(ctx, mb.Key(), r)
	if err != nil {
		return err
	}
	if rec.ID == w.sid || rec.ID == "" {
		m.forget(w.sid)
		if _, err := m.create(ctx, mb, r, m.cfg.Tokens(mb)); err != nil {
			return &SubscriptionError{Mailbox: mb, Resource: r, Op: "create", Err: err}
		}
	}
	m.trigger(mb)
	return nil
}

// reauthorize answers reauthorizationRequired: POST …/reauthorize, or a
// renewal when that fails; a subscription Graph no longer has is made again.
func (m *Manager) reauthorize(ctx context.Context, w work) error {
	tok := m.cfg.Tokens(w.e.mb)
	err := m.gc.JSON(ctx, &graph.Request{Method: http.MethodPost, Path: graph.Path("subscriptions", w.sid, "reauthorize"), Token: tok, Idempotent: true}, nil)
	if err == nil {
		m.reauthorized.Add(1)
		return nil
	}
	if errors.Is(err, m365link.ErrNotFound) {
		return m.recreate(ctx, w)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "notify: reauthorize failed; renewing instead", mbAttr(w.e.mb), slog.String("error", err.Error()))
	unlock := m.lock(w.e.mb.Key())
	defer unlock()
	held, release, lerr := m.lease(ctx, w.e.mb)
	if lerr != nil {
		return lerr
	}
	if !held {
		return errLeaseHeld
	}
	defer release()
	rec, lerr := m.loadRecord(ctx, w.e.mb.Key(), w.e.res)
	if lerr != nil || rec.ID != w.sid {
		return lerr // made again meanwhile: nothing to renew
	}
	if _, err := m.renew(ctx, w.e.res, rec, tok); err != nil {
		return &SubscriptionError{Mailbox: w.e.mb, Resource: w.e.res, Op: "reauthorize", Err: err}
	}
	return nil
}

// create records the intent (with the new clientState), creates the
// subscription, and records what Graph granted.
func (m *Manager) create(ctx context.Context, mb m365link.Mailbox, r Resource, tok graphclient.TokenSource) (record, error) {
	now := time.Now()
	rec := record{Mailbox: mb, Resource: r.path(mb), ClientState: newClientState(), Creating: now.UTC()}
	if err := m.saveRecord(ctx, r, rec); err != nil {
		return record{}, err
	}
	var w wireSub
	err := m.gc.JSON(ctx, &graph.Request{Method: http.MethodPost, Path: "/subscriptions", Token: tok, Body: wireSub{
		ChangeType: "created,updated,deleted", NotificationURL: m.cfg.NotificationURL, LifecycleNotificationURL: m.cfg.LifecycleURL,
		Resource: rec.Resource, ExpirationDateTime: formatTime(now.Add(m.cfg.Lifetime)), ClientState: rec.ClientState,
	}}, &w)
	if err != nil {
		return rec, err // the intent stays: the next reconciliation adopts what Graph may have made
	}
	if w.ID == "" {
		return rec, ErrMalformedSubscription
	}
	rec.ID, rec.Expires = w.ID, parseTime(w.ExpirationDateTime)
	if err := m.saveRecord(ctx, r, rec); err != nil {
		return record{Mailbox: mb, Resource: rec.Resource, ClientState: rec.ClientState, Creating: rec.Creating}, err
	}
	m.remember(rec, r)
	m.created.Add(1)
	m.log.LogAttrs(ctx, slog.LevelInfo, "notify: subscription created", mbAttr(mb), slog.String("resource", string(r)),
		slog.Time("expires", rec.Expires))
	return rec, nil
}

// renew asks for a new expiry and records the one Graph granted.
func (m *Manager) renew(ctx context.Context, r Resource, rec record, tok graphclient.TokenSource) (record, error) {
	var w wireSub
	err := m.gc.JSON(ctx, &graph.Request{Method: http.MethodPatch, Path: graph.Path("subscriptions", rec.ID), Token: tok, Idempotent: true,
		Body: wireSub{ExpirationDateTime: formatTime(time.Now().Add(m.cfg.Lifetime))}}, &w)
	if err != nil {
		return rec, err
	}
	rec.Expires = parseTime(w.ExpirationDateTime)
	if err := m.saveRecord(ctx, r, rec); err != nil {
		return rec, err
	}
	m.renewed.Add(1)
	return rec, nil
}

func (m *Manager) deleteSub(ctx context.Context, id string, tok graphclient.TokenSource) error {
	err := m.gc.JSON(ctx, &graph.Request{Method: http.MethodDelete, Path: graph.Path("subscriptions", id), Token: tok, Idempotent: true}, nil)
	m.forget(id)
	if err != nil && !errors.Is(err, m365link.ErrNotFound) {
		return err
	}
	m.deleted.Add(1)
	return nil
}

// list reads the subscriptions tok can see.
func (m *Manager) list(ctx context.Context, tok graphclient.TokenSource) ([]wireSub, error) {
	return graph.All[wireSub](ctx, m.gc, &graph.Request{Path: "/subscriptions", Token: tok})
}

// ours reports whether s is one of this package's for this deployment: it
// posts to NotificationURL and its clientState (when Graph shows it) has
// this package's prefix.
func (m *Manager) ours(s wireSub) bool {
	return s.NotificationURL == m.cfg.NotificationURL && (s.ClientState == "" || strings.HasPrefix(s.ClientState, clientStatePrefix))
}

func (m *Manager) remember(rec record, r Resource) {
	m.mu.Lock()
	m.index[rec.ID] = entry{mb: rec.Mailbox, res: r, clientState: rec.ClientState}
	m.mu.Unlock()
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	delete(m.index, id)
	m.mu.Unlock()
}

// lock serialises the work on one mailbox within this process.
func (m *Manager) lock(key string) (unlock func()) {
	m.locksMu.Lock()
	l := m.locks[key]
	if l == nil {
		l = &gosync.Mutex{}
		m.locks[key] = l
	}
	m.locksMu.Unlock()
	l.Lock()
	return l.Unlock
}

// lease takes the mailbox's notify lease; held is false when another
// worker has it.
func (m *Manager) lease(ctx context.Context, mb m365link.Mailbox) (held bool, release func(), err error) {
	if m.cfg.Leases == nil {
		return true, func() {}, nil
	}
	key := "notify:" + mb.Key()
	ok, err := m.cfg.Leases.Acquire(ctx, key, m.owner, leaseTTL)
	if err != nil {
		return false, nil, fmt.Errorf("notify: lease %s: %w", mb, err)
	}
	if !ok {
		return false, nil, nil
	}
	return true, func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := m.cfg.Leases.Release(rctx, key, m.owner); err != nil {
			m.log.LogAttrs(ctx, slog.LevelWarn, "notify: release lease", mbAttr(mb), slog.String("error", err.Error()))
		}
	}, nil
}

// wireSub is a subscription on the wire: only the fields the manager uses.
type wireSub struct {
	ID                       string `json:"id,omitempty"`
	Resource                 string `json:"resource,omitempty"`
	ChangeType               string `json:"changeType,omitempty"`
	NotificationURL          string `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl,omitempty"`
	ClientState              string `json:"clientState,omitempty"`
	ExpirationDateTime       string `json:"expirationDateTime,omitempty"`
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// parseTime reads a Graph date and time: RFC 3339 with up to seven
// fractional digits, or the same without an offset (UTC). One it cannot
// read is taken as now, so that the next reconciliation renews (and
// learns a readable one) rather than trusting a guess.
func parseTime(v string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", v); err == nil {
		return t.UTC()
	}
	return time.Now().UTC()
}

// userOf returns the user segment of a resource, "/users/{id}/…",
// "users('{id}')/…" or "Users/{id}/Messages/{id}", unescaped; "" when it
// names none.
func userOf(resource string) string {
	p := strings.TrimPrefix(resource, "/")
	if len(p) < 6 || !strings.EqualFold(p[:5], "users") {
		return ""
	}
	p = p[5:]
	var u string
	switch {
	case strings.HasPrefix(p, "/"):
		u, _, _ = strings.Cut(p[1:], "/")
	case strings.HasPrefix(p, "('"):
		var ok bool
		if u, _, ok = strings.Cut(p[2:], "')"); !ok {
			return ""
		}
	default:
		return ""
	}
	if s, err := url.PathUnescape(u); err == nil {
		u = s
	}
	return u
}

// sameResource compares two resource paths as Graph does: without the
// leading slash, ignoring case.
func sameResource(a, b string) bool {
	return strings.EqualFold(strings.TrimPrefix(a, "/"), strings.TrimPrefix(b, "/"))
}

func mbAttr(mb m365link.Mailbox) slog.Attr { return slog.String("mailbox", mb.String()) }
