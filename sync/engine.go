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
	"github.com/m365link/m365link/internal/graph"
)

// FolderSpec names a folder to sync: a well-known name ("inbox",
// "sentitems", "archive"), a display-name path from the mailbox root
// ("Inbox/Vendors", matched case-insensitively), or an immutable ID. Set
// one field.
type FolderSpec struct {
	// WellKnown is a well-known folder name, e.g. "inbox".
	WellKnown string
	// Path is a display-name path from the mailbox root, e.g. "Inbox/Vendors".
	Path string
	// ID is a folder's immutable ID.
	ID string
}

// DefaultFolders are Inbox and Sent Items.
var DefaultFolders = []FolderSpec{{WellKnown: "inbox"}, {WellKnown: "sentitems"}}

// Window bounds how far back a folder's first sync goes. The zero value
// syncs everything. The start is fixed when a folder starts syncing (and
// kept across resyncs); changing the window later applies to folders that
// start afterwards.
type Window struct {
	// Days back from the first sync (30, 90, 180); ignored when Start is set.
	Days int
	// Start is a custom start.
	Start time.Time
}

func (w Window) start(now time.Time) time.Time {
	if !w.Start.IsZero() {
		return w.Start.UTC()
	}
	if w.Days > 0 {
		return now.UTC().AddDate(0, 0, -w.Days).Truncate(24 * time.Hour)
	}
	return time.Time{}
}

// Config configures an [Engine].
type Config struct {
	// TenantID is the tenant whose mailboxes sync.
	TenantID string
	// GraphBaseURL is Graph's root; default https://graph.microsoft.com/v1.0.
	GraphBaseURL string
	// HTTPClient carries the requests; nil means a tuned default.
	HTTPClient *http.Client
	// Retry tunes the HTTP layer's retries; zero fields take the defaults.
	Retry Retry
	// Tokens returns the token source for a mailbox (the same app-only
	// source for every mailbox, or each user's delegated one). Required.
	Tokens func(m365link.Mailbox) TokenSource
	// DirectoryToken reads users and groups for the Policy; nil uses
	// Tokens of a mailbox with only the tenant set.
	DirectoryToken TokenSource
	// Policy selects the mailboxes Run syncs.
	Policy Policy
	// Folders to sync; default DefaultFolders. ChildFolders adds their
	// descendants. A folder that does not exist in a mailbox is skipped
	// (and named in its status) unless none exists.
	Folders      []FolderSpec
	ChildFolders bool
	// FolderConcurrency is how many folders of one mailbox sync at once;
	// default 2. Graph allows 4 requests in flight per mailbox, shared with
	// every other package's calls for it, and the limiter enforces that
	// whatever this says.
	FolderConcurrency int
	// Window bounds the history of the first sync.
	Window Window
	// IncludeBody adds message bodies (as text) to the lean selection.
	IncludeBody bool
	// PageSize is asked for with Prefer: odata.maxpagesize; default 1000.
	// It is halved (down to 50) for a folder while Graph answers 504.
	PageSize int
	// FilteredDeltaCap is where Graph silently stops a receivedDateTime-
	// filtered delta; default 5000. Reaching it makes the folder fall back
	// to an unfiltered delta with the window applied here.
	FilteredDeltaCap int

	// Sink receives the messages; State keeps cursors; both required.
	Sink  Sink
	State StateStore
	// Leases, when set, lets several processes share mailboxes.
	Leases LeaseStore
	// Owner names this worker in leases; default host name, process ID
	// and a random suffix.
	Owner string
	// LeaseTTL bounds how long a crashed worker holds a mailbox; default
	// 5 minutes. It must outlast the longest wait for one page (Retry's
	// MaxElapsed).
	LeaseTTL time.Duration

	// Workers bounds how many mailboxes Run syncs at once; default 8.
	Workers int
	// Interval between incremental passes of a mailbox; default 1 minute.
	Interval time.Duration
	// PolicyInterval between re-reads of the policy; default 10 minutes.
	PolicyInterval time.Duration
	// MaxResyncs in ResyncWindow before a mailbox is degraded; default 3 in 1 hour.
	MaxResyncs   int
	ResyncWindow time.Duration

	// OnProgress, if set, is called when a pass starts, after every page
	// and at the end of every pass with the mailbox's status. Calls for one
	// mailbox come one at a time and in order; calls for different
	// mailboxes come concurrently. It must not block for long.
	OnProgress func(Status)
	// OnItemError, if set, is called for every message Graph sent that
	// could not be understood; the rest of its page is delivered anyway.
	OnItemError func(m365link.Mailbox, *m365link.ItemError)
	// Logger receives sync events (never tokens or delta links); nil discards.
	Logger *slog.Logger
}

// Retry bounds the retries of one Graph request (429, 500, 502, 503, 504,
// dropped or stalled connections, garbled bodies). Zero fields take the
// defaults: 10 attempts, 250 ms first backoff step, 8 s largest step, 2
// minutes in all, and a Retry-After floor of 1 s (and cap of 10 minutes).
type Retry struct {
	// MaxAttempts counts the first try.
	MaxAttempts int
	// BaseDelay and MaxDelay bound the exponential backoff (with jitter)
	// used when Graph gives no Retry-After.
	BaseDelay, MaxDelay time.Duration
	// MaxElapsed caps the time spent on one request, waits included; a
	// longer Retry-After ends the pass with the mailbox throttled.
	MaxElapsed time.Duration
	// MinRetryAfter is the floor applied to Retry-After.
	MinRetryAfter time.Duration
}

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

	items, removals, pages, requests, throttled, resyncs, itemErrors, untrusted atomic.Int64

	folderConfig string // identifies cfg.Folders and cfg.ChildFolders (see folderSet)

	locksMu gosync.Mutex
	locks   map[string]chan struct{} // one pass per mailbox at a time

	mu       gosync.Mutex
	statuses map[string]Status
	// Run's schedule, guarded by mu.
	policy   Policy
	repolicy bool                          // SetPolicy was called: Run re-reads the policy now
	known    map[string]m365link.Mailbox   // mailboxes the policy selects
	dropped  map[string]m365link.Mailbox   // mailboxes to remove
	running  map[string]context.CancelFunc // passes and removals in flight
	due      map[string]time.Time
	again    map[string]bool // Trigger during a pass: run again at once
	wake     chan struct{}
	inRun    atomic.Bool
}

// New checks cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Tokens == nil || cfg.Sink == nil || cfg.State == nil {
		return nil, errors.New("sync: Config needs Tokens, Sink and State")
	}
	if len(cfg.Folders) == 0 {
		cfg.Folders = DefaultFolders
	}
	for _, f := range cfg.Folders {
		n := 0
		for _, v := range []string{f.WellKnown, f.Path, f.ID} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("sync: a FolderSpec sets exactly one of WellKnown, Path and ID: %+v", f)
		}
	}
	if cfg.FolderConcurrency <= 0 {
		cfg.FolderConcurrency = 2
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	if cfg.FilteredDeltaCap <= 0 {
		cfg.FilteredDeltaCap = 5000
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.PolicyInterval <= 0 {
		cfg.PolicyInterval = 10 * time.Minute
	}
	if cfg.MaxResyncs <= 0 {
		cfg.MaxResyncs = 3
	}
	if cfg.ResyncWindow <= 0 {
		cfg.ResyncWindow = time.Hour
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, owner: cfg.Owner, policy: cfg.Policy,
		locks: map[string]chan struct{}{}, statuses: map[string]Status{},
		known: map[string]m365link.Mailbox{}, dropped: map[string]m365link.Mailbox{},
		running: map[string]context.CancelFunc{}, due: map[string]time.Time{}, again: map[string]bool{},
		wake: make(chan struct{}, 1), folderConfig: folderConfig(cfg.Folders, cfg.ChildFolders)}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.owner == "" {
		e.owner = defaultOwner()
	}
	gc, err := graph.New(graph.Config{BaseURL: cfg.GraphBaseURL, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
		Retry: graph.RetryPolicy{MaxAttempts: cfg.Retry.MaxAttempts, BaseDelay: cfg.Retry.BaseDelay, MaxDelay: cfg.Retry.MaxDelay,
			MaxElapsed: cfg.Retry.MaxElapsed, MinRetryAfter: cfg.Retry.MinRetryAfter},
		OnResponse: func(_ string, status int) {
			e.requests.Add(1)
			if status == http.StatusTooManyRequests {
				e.throttled.Add(1)
			}
		}})
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	e.gc = gc
	return e, nil
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
// (LoadStatus).
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
	ch := e.locks[key]
	if ch == nil {
		ch = make(chan struct{}, 1)
		e.locks[key] = ch
	}
	e.locksMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lease takes the mailbox's lease when the engine has a LeaseStore; the
// returned func releases it.
func (e *Engine) lease(ctx context.Context, mb m365link.Mailbox) (release func(), err error) {
	if e.cfg.Leases == nil {
		return func() {}, nil
	}
	ok, err := e.cfg.Leases.Acquire(ctx, mb.Key(), e.owner, e.cfg.LeaseTTL)
	if err != nil {
		return nil, fmt.Errorf("sync: lease %s: %w", mb, err)
	}
	if !ok {
		return nil, ErrLeaseLost
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := e.cfg.Leases.Release(rctx, mb.Key(), e.owner); err != nil {
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: release lease", slog.String("mailbox", mb.Key()), slog.String("error", err.Error()))
		}
	}, nil
}

// SyncOnce runs one pass over a mailbox: every configured folder to the
// end of its current delta round, then the removals and tombstones the
// pass gathered. Passes of one mailbox never overlap: a second call waits
// for the first. It returns the first error; the mailbox's status says
// what it means for the host, and the next pass resumes where this one
// stopped.
func (e *Engine) SyncOnce(ctx context.Context, mb m365link.Mailbox) error {
	if mb.TenantID == "" {
		mb.TenantID = e.cfg.TenantID
	}
	if mb.UserID == "" {
		return errors.New("sync: SyncOnce needs the mailbox's UserID")
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
	// The saved status, not this engine's copy: another worker may have
	// synced the mailbox since (Folders must be the latest).
	rec, err := e.loadRecord(ctx, mb.Key())
	if err != nil {
		return fmt.Errorf("sync: %s: %w", mb, err)
	}
	st := rec.Status
	st.Mailbox, st.Pages, st.Items, st.Estimate, st.Reason, st.ThrottledUntil = mb, 0, 0, 0, "", time.Time{}
	p := &pass{e: e, mb: mb, key: mb.Key(), tok: e.cfg.Tokens(mb), st: st, resolved: rec.Resolved}
	err = p.run(ctx)
	if p.relist {
		p.resolved = nil
	}
	e.finish(ctx, p, err)
	if err == nil || errors.Is(err, ErrLeaseLost) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	// Graph's, the token source's and the host's errors, typed for
	// errors.Is and errors.As, with the mailbox they concern.
	return fmt.Errorf("sync: %s: %w", mb, err)
}

// logFailure logs a failed pass once, at Warn: the mailbox, each failed
// folder and the typed cause. Errors never carry tokens or delta links.
func (e *Engine) logFailure(ctx context.Context, mb m365link.Mailbox, err error) {
	var folders []string
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
		causes[Cause(err)] = true
	}
	each(err)
	e.log.LogAttrs(ctx, slog.LevelWarn, "sync: pass failed", slog.String("mailbox", mb.Key()),
		slog.String("folders", strings.Join(folders, ", ")), slog.String("cause", strings.Join(slices.Sorted(maps.Keys(causes)), ", ")),
		slog.String("error", err.Error()))
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

// finish records the outcome of a pass in the mailbox's status.
func (e *Engine) finish(ctx context.Context, p *pass, err error) {
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
		e.logFailure(ctx, st.Mailbox, err)
	}
	if st.State == StateIdle && len(p.missing) > 0 {
		st.Reason = "not found: " + strings.Join(p.missing, ", ")
	}
	e.publish(st)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.saveRecord(sctx, mailboxRecord{Status: st, Resolved: p.resolved}); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: save status", slog.String("mailbox", st.Mailbox.Key()), slog.String("error", err.Error()))
	}
}

// ResetFolder makes the next pass over a mailbox start one folder (by
// immutable ID) over: a full round from the base query under a new
// generation, ending with a sweep of everything the sink holds in the
// folder from before. Use it when the host's copy of a folder is in doubt
// (restored from a backup, edited by hand). It also lifts the folder's
// backoff and degraded state. It waits for a pass in flight on this
// engine, and takes the mailbox's lease when the engine has a LeaseStore.
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
		e.log.LogAttrs(ctx, slog.LevelInfo, "sync: folder reset by the host", slog.String("mailbox", key), slog.String("folder", id))
	}
	if op == "ResetMailbox" && rec.Resolved != nil {
		rec.Resolved = nil
		if err := e.saveRecord(ctx, rec); err != nil {
			return fmt.Errorf("sync: %s: %w", mb, err)
		}
	}
	return nil
}
