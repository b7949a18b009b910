package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
)

// Counters are totals since the engine started, for a host's metrics.
type Counters struct {
	// Items are messages upserted into the sink; Removals are removals
	// handed to it (moves the sink ignored included).
	Items, Removals int64
	// Pages are delta pages fetched.
	Pages int64
	// Requests are HTTP attempts sent to Graph, retries included;
	// Throttled are the ones answered 429.
	Requests, Throttled int64
	// Resyncs are full resyncs after Graph discarded a sync state.
	Resyncs int64
	// ItemErrors are messages that could not be understood.
	ItemErrors int64
	// UntrustedLinks are pages refused because Graph's nextLink or
	// deltaLink pointed at another origin than the configured Graph.
	UntrustedLinks int64
}

// minPageSize is the smallest page asked for after 504s.
const minPageSize = 50

// Engine syncs mailboxes into a Sink. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	gc    *graph.Client
	log   *slog.Logger
	owner string

	items, removals, pages, requests, throttled, resyncs, itemErrors, untrusted, passes atomic.Int64
	schedNanos                                                                          atomic.Int64 // time Run spent deciding (see schedule.go)

	folderConfig string // identifies cfg.Folders and cfg.ChildFolders (see folderSet)

	locksMu gosync.Mutex
	locks   map[string]*mailboxLock // one pass per mailbox at a time; only while in use

	mu       gosync.Mutex
	statuses map[string]Status
	policy   Policy
	repolicy bool     // SetPolicy was called: Run re-reads the policy now
	sched    schedule // Run's, guarded by mu
	// owned are the mailboxes whose leases Run keeps across passes: with
	// a LeaseBalancer, while Run runs (nil otherwise; see balance.go).
	owned     map[string]struct{}
	wake      chan struct{}
	rebalance chan struct{} // asks Run's balancer for a round now
	inRun     atomic.Bool
}

// mailboxLock holds one mailbox's passes apart; refs counts its holders
// and waiters, and the lock is forgotten when the last one leaves.
type mailboxLock struct {
	ch   chan struct{}
	refs int
}

// New checks cfg (see [Config.Validate]) and returns an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Engine{cfg: cfg, log: cfg.Logger, owner: cfg.Schedule.Owner, policy: cfg.Policy,
		locks: map[string]*mailboxLock{}, statuses: map[string]Status{}, sched: newSchedule(),
		wake: make(chan struct{}, 1), rebalance: make(chan struct{}, 1), folderConfig: folderConfig(cfg.Folders, cfg.ChildFolders)}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.owner == "" {
		e.owner = defaultOwner()
	}
	if cfg.Client == nil {
		gc, err := graphclient.New(graphclient.Config{Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		cfg.Client = gc
		e.cfg.Client = gc
	}
	e.gc = graph.FromHandle(cfg.Client)
	return e, nil
}

// observe counts one attempt of one of the engine's requests.
func (e *Engine) observe(status int) {
	e.requests.Add(1)
	if status == http.StatusTooManyRequests {
		e.throttled.Add(1)
	}
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Owner returns the name this engine holds leases under.
func (e *Engine) Owner() string { return e.owner }

// Counters returns the totals so far.
func (e *Engine) Counters() Counters {
	return Counters{Items: e.items.Load(), Removals: e.removals.Load(), Pages: e.pages.Load(), Requests: e.requests.Load(),
		Throttled: e.throttled.Load(), Resyncs: e.resyncs.Load(), ItemErrors: e.itemErrors.Load(),
		UntrustedLinks: e.untrusted.Load()}
}

// Status returns the status of a mailbox (by [m365link.Mailbox.Key]) as
// this engine last saw it; false when it never synced it. While Graph
// holds the mailbox back the state is [StateThrottled] with the time it
// ends. A mailbox another worker syncs is in the shared StateStore
// (LoadStatus), and so is the folder list (Folders) of a mailbox Run left
// idle: Run does not keep it in memory.
func (e *Engine) Status(mailboxKey string) (Status, bool) {
	e.mu.Lock()
	s, ok := e.statuses[strings.ToLower(mailboxKey)]
	e.mu.Unlock()
	if ok {
		s = e.withThrottle(s)
	}
	return s, ok
}

// Statuses returns the status of every mailbox this engine has seen,
// ordered by key.
func (e *Engine) Statuses() []Status {
	e.mu.Lock()
	out := make([]Status, 0, len(e.statuses))
	for _, s := range e.statuses {
		out = append(out, s)
	}
	e.mu.Unlock()
	for i := range out {
		out[i] = e.withThrottle(out[i])
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Mailbox.Key(), b.Mailbox.Key()) })
	return out
}

// withThrottle shows a throttle in force on a mailbox that is syncing or idle.
func (e *Engine) withThrottle(s Status) Status {
	switch s.State {
	case StateIdle, StateInitial, StateIncremental, StateThrottled:
	default:
		return s
	}
	if until := e.gc.Limiter().ThrottledUntil(s.Mailbox.UserID); time.Now().Before(until) {
		s.State, s.ThrottledUntil = StateThrottled, until
	}
	return s
}

func (e *Engine) publish(s Status) {
	e.mu.Lock()
	e.statuses[s.Mailbox.Key()] = s
	e.mu.Unlock()
	if e.cfg.OnProgress != nil {
		e.cfg.OnProgress(s)
	}
}

// lockMailbox keeps two passes (or a pass and a removal) of one mailbox
// apart within this engine; leases do it across processes.
func (e *Engine) lockMailbox(ctx context.Context, key string) (unlock func(), err error) {
	e.locksMu.Lock()
	l := e.locks[key]
	if l == nil {
		l = &mailboxLock{ch: make(chan struct{}, 1)}
		e.locks[key] = l
	}
	l.refs++
	e.locksMu.Unlock()
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; e.unref(key, l) }, nil
	case <-ctx.Done():
		e.unref(key, l)
		return nil, ctx.Err()
	}
}

// unref ends one use of a mailbox's lock, forgetting it after the last.
func (e *Engine) unref(key string, l *mailboxLock) {
	e.locksMu.Lock()
	if l.refs--; l.refs == 0 {
		delete(e.locks, key)
	}
	e.locksMu.Unlock()
}

// lease takes (or renews) the mailbox's lease when the engine has a
// LeaseStore; the returned func releases it, unless Run keeps the lease
// (see balance.go): then it does nothing.
func (e *Engine) lease(ctx context.Context, mb m365link.Mailbox) (release func(), err error) {
	if e.cfg.Leases == nil {
		return func() {}, nil
	}
	key := mb.Key()
	ok, err := e.cfg.Leases.Acquire(ctx, key, e.owner, e.cfg.Schedule.LeaseTTL)
	if err != nil {
		return nil, fmt.Errorf("sync: lease %s: %w", mb, err)
	}
	if !ok {
		e.disown(key)
		return nil, ErrLeaseLost
	}
	if e.owns(key) {
		return func() {}, nil
	}
	return func() { e.releaseLease(ctx, mb) }, nil
}

// releaseLease gives the mailbox's lease up, even after ctx ended.
func (e *Engine) releaseLease(ctx context.Context, mb m365link.Mailbox) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.cfg.Leases.Release(rctx, mb.Key(), e.owner); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: release lease", mailboxAttr(mb), slog.String("error", err.Error()))
	}
}

// SyncOnce runs one pass over a mailbox: every configured folder to the
// end of its current delta round, then the removals and tombstones the
// pass gathered. Passes of one mailbox never overlap: a second call waits
// for the first, and with a LeaseStore it takes the mailbox's lease for
// the pass ([ErrLeaseLost] while another worker holds it, e.g. its Run
// owns the mailbox). It returns the first error; the mailbox's status says
// what it means for the host, and the next pass resumes where this one
// stopped.
func (e *Engine) SyncOnce(ctx context.Context, mb m365link.Mailbox) error {
	return e.passOver(ctx, mb).Err
}

// passOver runs one pass over mb between the OnPass hook's start and end
// and says what it did.
func (e *Engine) passOver(ctx context.Context, mb m365link.Mailbox) PassResult {
	if mb.TenantID == "" {
		mb.TenantID = e.cfg.TenantID
	}
	var end func(PassResult)
	if e.cfg.OnPass != nil {
		pctx, f := e.cfg.OnPass(ctx, mb)
		if pctx != nil {
			ctx = pctx
		}
		end = f
	}
	start := time.Now()
	p, err := e.syncOnce(ctx, mb)
	if p != nil {
		e.passes.Add(1)
	}
	r := PassResult{Mailbox: mb, Duration: time.Since(start), Err: err}
	if p != nil {
		p.mu.Lock()
		r.Pages, r.Items = p.st.Pages, p.st.Items
		p.mu.Unlock()
		r.Requests = p.requests.Load()
	}
	if st, ok := e.Status(mb.Key()); ok && p != nil {
		r.State = st.State // what this pass left (a pass that never ran leaves State empty)
	}
	if end != nil {
		end(r)
	}
	return r
}

// syncOnce is SyncOnce after passOver defaulted the tenant, also
// returning the pass (nil when none ran).
func (e *Engine) syncOnce(ctx context.Context, mb m365link.Mailbox) (*pass, error) {
	if mb.UserID == "" {
		return nil, errors.New("sync: SyncOnce needs the mailbox's UserID")
	}
	if !strings.EqualFold(mb.TenantID, e.cfg.TenantID) {
		return nil, fmt.Errorf("sync: mailbox %s is in tenant %s, not the engine's %s", mb, mb.TenantID, e.cfg.TenantID)
	}
	unlock, err := e.lockMailbox(ctx, mb.Key())
	if err != nil {
		return nil, err
	}
	defer unlock()
	release, err := e.lease(ctx, mb)
	if err != nil {
		return nil, err
	}
	defer release()
	// The saved status, not this engine's copy: another worker may have
	// synced the mailbox since (Folders must be the latest).
	rec, err := e.loadRecord(ctx, mb.Key())
	if err != nil {
		return nil, fmt.Errorf("sync: %s: %w", mb, err)
	}
	st := rec.Status
	was := st.State // as the last pass (of any worker) left it
	st.Mailbox, st.Pages, st.Items, st.Estimate, st.Reason, st.ThrottledUntil = mb, 0, 0, 0, "", time.Time{}
	p := &pass{e: e, mb: mb, key: mb.Key(), tok: e.cfg.Tokens(mb), st: st, resolved: rec.Resolved, kinds: e.kinds(mb)}
	err = p.run(ctx)
	if p.relist {
		p.resolved = nil
	}
	e.finish(ctx, p, was, err)
	if err == nil || errors.Is(err, ErrLeaseLost) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return p, err
	}
	// Graph's, the token source's and the host's errors, typed for
	// errors.Is and errors.As, with the mailbox they concern.
	return p, fmt.Errorf("sync: %s: %w", mb, err)
}

// mailboxAttr is how every log line names a mailbox: its tenant, user ID
// and, when known, UPN, in one group.
func mailboxAttr(mb m365link.Mailbox) slog.Attr {
	attrs := []any{"tenant", mb.TenantID, "id", mb.UserID}
	if mb.UPN != "" {
		attrs = append(attrs, "upn", mb.UPN)
	}
	return slog.Group("mailbox", attrs...)
}

// stateName names a mailbox's state in logs; a mailbox no pass has left a
// state for is "new".
func stateName(s State) string {
	if s == "" {
		return "new"
	}
	return string(s)
}

// logFailure logs a failed pass, at Warn when it changed the mailbox's
// state (was → now), at Debug when it repeats the last pass's failure: the
// mailbox, each failed folder and the typed cause. Errors never carry
// tokens or delta links.
func (e *Engine) logFailure(ctx context.Context, mb m365link.Mailbox, was, now State, err error) {
	var folders, requestIDs []string
	causes := map[string]bool{}
	var each func(error)
	each = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				each(e)
			}
			return
		}
		var fe *FolderError
		if errors.As(err, &fe) {
			folders = append(folders, fe.Folder.Name+" ("+fe.Folder.ID+")")
		}
		var ge *m365link.GraphError
		if errors.As(err, &ge) && ge.RequestID != "" {
			requestIDs = append(requestIDs, ge.RequestID)
		}
		causes[Cause(err)] = true
	}
	each(err)
	attrs := []slog.Attr{mailboxAttr(mb), slog.String("folders", strings.Join(folders, ", ")),
		slog.String("cause", strings.Join(slices.Sorted(maps.Keys(causes)), ", "))}
	if len(requestIDs) > 0 {
		// For Microsoft support: Graph's request-id of each failure.
		attrs = append(attrs, slog.String("request_id", strings.Join(requestIDs, ", ")))
	}
	level := slog.LevelWarn
	if was == now {
		level = slog.LevelDebug
	}
	e.log.LogAttrs(ctx, level, "sync: pass failed", append(attrs, slog.String("error", err.Error()),
		slog.String("was", stateName(was)), slog.String("state", string(now)))...)
}

// Cause names the kind of a sync failure for logs and metrics: "throttled",
// "unavailable", "malformed response", "untrusted link", "sync reset",
// "not found", "mailbox not enabled", "reconnect required", "unauthorized",
// "forbidden", "consent required", "degraded", "backing off", "lease lost",
// "cancelled", "host" (the sink or a store) or "other".
func Cause(err error) string {
	var he *hostError
	for _, c := range []struct {
		target error
		name   string
	}{
		{ErrLeaseLost, "lease lost"}, {context.Canceled, "cancelled"}, {context.DeadlineExceeded, "cancelled"},
		{m365link.ErrReconnectRequired, "reconnect required"}, {m365link.ErrMailboxNotEnabled, "mailbox not enabled"},
		{m365link.ErrThrottled, "throttled"}, {m365link.ErrConsentRequired, "consent required"},
		{m365link.ErrUnauthorized, "unauthorized"}, {m365link.ErrForbidden, "forbidden"},
		{ErrDegraded, "degraded"}, {ErrFolderBackoff, "backing off"}, {m365link.ErrUntrustedLink, "untrusted link"},
		{m365link.ErrSyncReset, "sync reset"}, {m365link.ErrNotFound, "not found"},
		{m365link.ErrMalformedResponse, "malformed response"}, {m365link.ErrUnavailable, "unavailable"},
	} {
		if errors.Is(err, c.target) {
			return c.name
		}
	}
	if errors.As(err, &he) {
		return "host"
	}
	return "other"
}

// finish records the outcome of a pass in the mailbox's status, and logs
// it when the mailbox's state changed from was, the state its last pass
// left: one line per change, not per pass.
func (e *Engine) finish(ctx context.Context, p *pass, was State, err error) {
	p.mu.Lock()
	st := p.st
	p.mu.Unlock()
	var ge *m365link.GraphError
	var re *m365link.ReconnectError
	switch {
	case err == nil:
		st.State, st.LastSync = StateIdle, time.Now()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil, errors.Is(err, ErrLeaseLost):
		// Stopped from outside, or by another worker: nothing to report.
		return
	case errors.As(err, &re):
		st.State, st.Reason = StateReconnectRequired, string(re.Reason)
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		st.State, st.Reason = StateNotMailEnabled, "no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises)"
	case errors.Is(err, m365link.ErrThrottled):
		st.State, st.Reason = StateThrottled, "throttled by Graph"
		if errors.As(err, &ge) && ge.RetryAfter > 0 {
			st.ThrottledUntil = time.Now().Add(ge.RetryAfter)
		}
	case errors.Is(err, ErrDegraded):
		st.State, st.Reason = StateDegraded, err.Error()
	default:
		st.State, st.Reason = StateError, err.Error()
	}
	if err != nil {
		e.logFailure(ctx, st.Mailbox, was, st.State, err)
	} else if was != StateIdle {
		e.log.LogAttrs(ctx, slog.LevelInfo, "sync: mailbox state changed", mailboxAttr(st.Mailbox),
			slog.String("was", stateName(was)), slog.String("state", string(st.State)))
	}
	if st.State == StateIdle {
		var notes []string
		if len(p.missing) > 0 {
			notes = append(notes, "not found: "+strings.Join(p.missing, ", "))
		}
		if len(p.denied) > 0 {
			notes = append(notes, "not permitted (grant Calendars.Read or Contacts.Read, or drop the kind): "+strings.Join(p.denied, ", "))
		}
		if len(p.cut) > 0 {
			notes = append(notes, fmt.Sprintf("subfolders deeper than %d levels not synced, below: %s", MaxFolderDepth, strings.Join(p.cut, ", ")))
		}
		st.Reason = strings.Join(notes, "; ")
	}
	e.publish(st)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.saveRecord(sctx, mailboxRecord{Status: st, Resolved: p.resolved}); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: save status", mailboxAttr(st.Mailbox), slog.String("error", err.Error()))
	}
}

// ResetFolder makes the next pass over a mailbox start one folder over (a
// mail folder by immutable ID, a calendar or contact folder as
// Status.Folders names it: "calendar:" or "contacts:" and its ID): a full round from the base query under a new
// generation, ending with a sweep of everything the sink holds in the
// folder from before. Use it when the host's copy of a folder is in doubt
// (restored from a backup, edited by hand). It also lifts the folder's
// backoff and degraded state. It waits for a pass in flight on this
// engine, and takes the mailbox's lease when the engine has a LeaseStore:
// while another worker's Run owns the mailbox (see [LeaseBalancer]) it
// returns [ErrLeaseLost]: call it on the worker that owns the mailbox (a
// worker owns what it syncs), or when that worker stopped.
func (e *Engine) ResetFolder(ctx context.Context, mb m365link.Mailbox, folderID string) error {
	return e.resetFolders(ctx, mb, "ResetFolder", func(Status) []string { return []string{folderID} })
}

// ResetMailbox is [Engine.ResetFolder] for every folder of the mailbox;
// the next pass also looks the folders up again.
func (e *Engine) ResetMailbox(ctx context.Context, mb m365link.Mailbox) error {
	return e.resetFolders(ctx, mb, "ResetMailbox", func(st Status) []string { return st.Folders })
}

func (e *Engine) resetFolders(ctx context.Context, mb m365link.Mailbox, op string, which func(Status) []string) error {
	if mb.TenantID == "" {
		mb.TenantID = e.cfg.TenantID
	}
	if mb.UserID == "" {
		return errors.New("sync: " + op + " needs the mailbox's UserID")
	}
	unlock, err := e.lockMailbox(ctx, mb.Key())
	if err != nil {
		return err
	}
	defer unlock()
	release, err := e.lease(ctx, mb)
	if err != nil {
		return err
	}
	defer release()
	key := mb.Key()
	rec, err := e.loadRecord(ctx, key)
	if err != nil {
		return fmt.Errorf("sync: %s: %w", mb, err)
	}
	for _, id := range which(rec.Status) {
		c, err := e.loadCursor(ctx, key, id)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", mb, err)
		}
		if c.Generation == 0 {
			continue // never synced: its first round is a full one anyway
		}
		c.Link, c.DegradedUntil, c.Resets, c.Failures, c.Skip, c.LastError = "", time.Time{}, nil, 0, 0, ""
		if err := e.saveCursor(ctx, key, id, c); err != nil {
			return fmt.Errorf("sync: %s: %w", mb, err)
		}
		e.log.LogAttrs(ctx, slog.LevelInfo, "sync: folder reset by the host", mailboxAttr(mb), slog.String("folder", id))
	}
	if op == "ResetMailbox" && rec.Resolved != nil {
		rec.Resolved = nil
		if err := e.saveRecord(ctx, rec); err != nil {
			return fmt.Errorf("sync: %s: %w", mb, err)
		}
	}
	return nil
}
