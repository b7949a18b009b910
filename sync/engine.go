package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

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

// Retry bounds the retries of one Graph request (429, 503, 504, dropped
// connections, garbled bodies). Zero fields take the defaults: 6 attempts,
// 500 ms first backoff step, 30 s largest step, 2 minutes in all, and a
// Retry-After floor of 1 s.
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
}

// minPageSize is the smallest page asked for after 504s.
const minPageSize = 50

// Engine syncs mailboxes into a Sink. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	gc    *graph.Client
	log   *slog.Logger
	owner string

	items, removals, pages, requests, throttled, resyncs, itemErrors atomic.Int64

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
		wake: make(chan struct{}, 1)}
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
		Throttled: e.throttled.Load(), Resyncs: e.resyncs.Load(), ItemErrors: e.itemErrors.Load()}
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
	st, err := e.cfg.State.LoadStatus(ctx, mb.Key())
	if err != nil {
		return fmt.Errorf("sync: load status: %w", err)
	}
	st.Mailbox, st.Pages, st.Items, st.Estimate, st.Reason, st.ThrottledUntil = mb, 0, 0, 0, "", time.Time{}
	st.Folders = slices.Clone(st.Folders)
	p := &pass{e: e, mb: mb, key: mb.Key(), tok: e.cfg.Tokens(mb), st: st}
	err = p.run(ctx)
	e.finish(ctx, p, err)
	if err != nil && !strings.HasPrefix(err.Error(), "sync: ") {
		// Graph's and the token source's errors, typed for errors.Is and
		// errors.As, with the mailbox they concern.
		err = fmt.Errorf("sync: %s: %w", mb, err)
	}
	return err
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
	case errors.Is(err, ErrDegraded):
		st.State, st.Reason = StateDegraded, "Graph reset the sync state too often; paused"
	case errors.As(err, &re):
		st.State, st.Reason = StateReconnectRequired, string(re.Reason)
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		st.State, st.Reason = StateNotMailEnabled, "no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises)"
	case errors.Is(err, m365link.ErrThrottled):
		st.State, st.Reason = StateThrottled, "throttled by Graph"
		if errors.As(err, &ge) && ge.RetryAfter > 0 {
			st.ThrottledUntil = time.Now().Add(ge.RetryAfter)
		}
	default:
		st.State, st.Reason = StateError, err.Error()
	}
	if st.State == StateIdle && len(p.missing) > 0 {
		st.Reason = "not found: " + strings.Join(p.missing, ", ")
	}
	e.publish(st)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.cfg.State.SaveStatus(sctx, st); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: save status", slog.String("mailbox", st.Mailbox.Key()), slog.String("error", err.Error()))
	}
}

// pass is one sync of one mailbox.
type pass struct {
	e   *Engine
	mb  m365link.Mailbox
	key string
	tok TokenSource

	sinkMu gosync.Mutex // the sink never sees two calls for one mailbox at once

	mu      gosync.Mutex // guards st and missing
	st      Status
	missing []string // configured folders the mailbox does not have
}

func (p *pass) run(ctx context.Context) error {
	folders, err := p.folders(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	for _, f := range folders {
		p.st.Estimate += f.Total
	}
	p.mu.Unlock()
	cursors := make([]Cursor, len(folders))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.e.cfg.FolderConcurrency)
	for i, f := range folders {
		g.Go(func() (err error) {
			cursors[i], err = p.folder(gctx, f)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Removals and tombstones were deferred to here, after every folder's
	// round, so that a message moved into another synced folder has been
	// upserted there first and the sink ignores its removal: a move is an
	// update, never a delete and a create.
	for i, f := range folders {
		c := cursors[i]
		endReset := c.Resyncing && !c.Initial
		if len(c.Pending) == 0 && !endReset {
			continue
		}
		if err := p.fence(ctx); err != nil {
			return err
		}
		if len(c.Pending) > 0 {
			if err := p.apply(ctx, &Page{Mailbox: p.mb, Folder: f, Generation: c.Generation, Removals: c.Pending}); err != nil {
				return err
			}
			p.e.removals.Add(int64(len(c.Pending)))
			c.Pending = nil
		}
		if endReset {
			if err := p.reset(ctx, Reset{Mailbox: p.mb, FolderID: f.ID, Phase: ResetEnd, Generation: c.Generation}); err != nil {
				return err
			}
			c.Resyncing = false
		}
		if err := p.save(ctx, f, c); err != nil {
			return err
		}
	}
	return p.dropFolders(ctx, folders)
}

// dropFolders empties in the sink the folders the last complete pass
// synced and this one did not find (deleted, moved out of a synced parent,
// no longer configured), and forgets their cursors.
func (p *pass) dropFolders(ctx context.Context, folders []Folder) error {
	ids := make([]string, len(folders))
	for i, f := range folders {
		ids[i] = f.ID
	}
	p.mu.Lock()
	prev := p.st.Folders
	p.mu.Unlock()
	for _, id := range prev {
		if slices.Contains(ids, id) {
			continue
		}
		if err := p.fence(ctx); err != nil {
			return err
		}
		p.e.log.LogAttrs(ctx, slog.LevelInfo, "sync: folder no longer synced; emptied", slog.String("mailbox", p.key), slog.String("folder", id))
		if err := p.reset(ctx, Reset{Mailbox: p.mb, FolderID: id, Phase: ResetEnd, Generation: DropGeneration}); err != nil {
			return err
		}
		if err := p.save(ctx, Folder{ID: id}, Cursor{}); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.st.Folders = ids
	p.mu.Unlock()
	return nil
}

func (p *pass) apply(ctx context.Context, pg *Page) error {
	p.sinkMu.Lock()
	defer p.sinkMu.Unlock()
	if err := p.e.cfg.Sink.Apply(ctx, pg); err != nil {
		return fmt.Errorf("sync: sink: %w", err)
	}
	return nil
}

func (p *pass) reset(ctx context.Context, r Reset) error {
	p.sinkMu.Lock()
	defer p.sinkMu.Unlock()
	if err := p.e.cfg.Sink.Reset(ctx, r); err != nil {
		return fmt.Errorf("sync: sink: %w", err)
	}
	return nil
}

func (p *pass) save(ctx context.Context, f Folder, c Cursor) error {
	if err := p.e.cfg.State.SaveCursor(ctx, p.key, f.ID, c); err != nil {
		return fmt.Errorf("sync: save cursor: %w", err)
	}
	return nil
}

// fence renews the lease before the sink is written to: a worker that
// stalled past its lease (and may have been replaced) stops here.
func (p *pass) fence(ctx context.Context) error {
	e := p.e
	if e.cfg.Leases == nil {
		return nil
	}
	ok, err := e.cfg.Leases.Acquire(ctx, p.key, e.owner, e.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("sync: renew lease of %s: %w", p.mb, err)
	}
	if !ok {
		return ErrLeaseLost
	}
	return nil
}

func (p *pass) request(path string, q url.Values) *graph.Request {
	return &graph.Request{Path: path, Query: q, Header: http.Header{}, Mailbox: p.mb.UserID, Token: p.tok}
}

// folders resolves the configured folder specs to IDs and counts.
func (p *pass) folders(ctx context.Context) ([]Folder, error) {
	var out []Folder
	seen := map[string]bool{}
	add := func(f Folder) {
		if !seen[f.ID] {
			seen[f.ID] = true
			out = append(out, f)
		}
	}
	var notFound error
	for _, spec := range p.e.cfg.Folders {
		f, err := p.resolve(ctx, spec)
		if err != nil {
			if errors.Is(err, m365link.ErrNotFound) && !errors.Is(err, m365link.ErrMailboxNotEnabled) {
				// One missing folder must not stop the others.
				notFound = err
				name := spec.WellKnown + spec.Path + spec.ID
				p.mu.Lock()
				p.missing = append(p.missing, name)
				p.mu.Unlock()
				p.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: folder not found", slog.String("mailbox", p.key), slog.String("folder", name))
				continue
			}
			return nil, err
		}
		add(f)
		if p.e.cfg.ChildFolders {
			kids, err := p.children(ctx, f, 0)
			if err != nil {
				return nil, err
			}
			for _, k := range kids {
				add(k)
			}
		}
	}
	if len(out) == 0 && notFound != nil {
		return nil, notFound
	}
	return out, nil
}

type wireFolder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	TotalItemCount   int    `json:"totalItemCount"`
	ChildFolderCount int    `json:"childFolderCount"`
}

const folderSelect = "id,displayName,totalItemCount,childFolderCount"

func (p *pass) getFolder(ctx context.Context, key string) (wireFolder, error) {
	var wf wireFolder
	err := p.e.gc.JSON(ctx, p.request(graph.Path("users", p.mb.UserID, "mailFolders", key),
		url.Values{"$select": {folderSelect}}), &wf)
	return wf, err
}

func (p *pass) listChildren(ctx context.Context, id string) ([]wireFolder, error) {
	var out []wireFolder
	req := p.request(graph.Path("users", p.mb.UserID, "mailFolders", id, "childFolders"),
		url.Values{"$select": {folderSelect}, "$top": {"100"}})
	for {
		var page struct {
			Value    []wireFolder `json:"value"`
			NextLink string       `json:"@odata.nextLink"`
		}
		if err := p.e.gc.JSON(ctx, req, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		if page.NextLink == "" {
			return out, nil
		}
		req = &graph.Request{URL: page.NextLink, Mailbox: p.mb.UserID, Token: p.tok}
	}
}

func (p *pass) resolve(ctx context.Context, spec FolderSpec) (Folder, error) {
	switch {
	case spec.ID != "":
		wf, err := p.getFolder(ctx, spec.ID)
		return Folder{ID: wf.ID, Name: wf.DisplayName, Total: wf.TotalItemCount}, err
	case spec.WellKnown != "":
		wf, err := p.getFolder(ctx, spec.WellKnown)
		return Folder{ID: wf.ID, Name: spec.WellKnown, Total: wf.TotalItemCount}, err
	}
	parts := strings.Split(strings.Trim(spec.Path, "/"), "/")
	cur, err := p.getFolder(ctx, "msgfolderroot")
	if err != nil {
		return Folder{}, err
	}
	for _, name := range parts {
		kids, err := p.listChildren(ctx, cur.ID)
		if err != nil {
			return Folder{}, err
		}
		found := false
		for _, k := range kids {
			if strings.EqualFold(k.DisplayName, name) {
				cur, found = k, true
				break
			}
		}
		if !found {
			return Folder{}, fmt.Errorf("sync: %s has no folder %q: %w", p.mb, spec.Path, m365link.ErrNotFound)
		}
	}
	return Folder{ID: cur.ID, Name: spec.Path, Total: cur.TotalItemCount}, nil
}

// maxFolderDepth bounds the walk over child folders (Outlook allows
// deeper trees, but mail filed that deep is rare and each level costs a
// request per folder).
const maxFolderDepth = 10

func (p *pass) children(ctx context.Context, f Folder, depth int) ([]Folder, error) {
	if depth >= maxFolderDepth {
		return nil, nil
	}
	kids, err := p.listChildren(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	var out []Folder
	for _, k := range kids {
		c := Folder{ID: k.ID, Name: f.Name + "/" + k.DisplayName, Total: k.TotalItemCount}
		out = append(out, c)
		if k.ChildFolderCount > 0 {
			more, err := p.children(ctx, c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// deltaRequest is the request for the next page of folder f: the saved
// link, or the base query of a full round.
func (p *pass) deltaRequest(f Folder, c Cursor, pageSize int) *graph.Request {
	h := http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(pageSize)}}
	if p.e.cfg.IncludeBody {
		h.Add("Prefer", `outlook.body-content-type="text"`)
	}
	if c.Link != "" {
		return &graph.Request{URL: c.Link, Header: h, Mailbox: p.mb.UserID, Token: p.tok}
	}
	sel := graph.MessageSelect
	if p.e.cfg.IncludeBody {
		sel += ",body"
	}
	q := url.Values{"$select": {sel}}
	if !c.Since.IsZero() && !c.Unfiltered {
		q.Set("$filter", "receivedDateTime ge "+c.Since.UTC().Format(time.RFC3339))
	}
	return &graph.Request{Path: graph.Path("users", p.mb.UserID, "mailFolders", f.ID, "messages", "delta"),
		Query: q, Header: h, Mailbox: p.mb.UserID, Token: p.tok}
}

// folder syncs one folder to the end of its current delta round and
// returns the cursor it saved last.
func (p *pass) folder(ctx context.Context, f Folder) (Cursor, error) {
	e := p.e
	c, err := e.cfg.State.LoadCursor(ctx, p.key, f.ID)
	if err != nil {
		return c, fmt.Errorf("sync: load cursor: %w", err)
	}
	if c.Generation == 0 {
		c = Cursor{Initial: true, Generation: 1, Since: e.cfg.Window.start(time.Now())}
	}
	p.phase(c.Initial)
	pageSize := e.cfg.PageSize
	var upserts []m365link.Message // reused: a page is the sink's only during Apply
	for {
		page, err := graph.GetPage[graph.Message](ctx, e.gc, p.deltaRequest(f, c, pageSize))
		if err != nil {
			var ge *m365link.GraphError
			switch {
			case errors.Is(err, m365link.ErrSyncReset):
				if c, err = p.resync(ctx, f, c); err != nil {
					return c, err
				}
				continue
			case errors.As(err, &ge) && ge.StatusCode == http.StatusGatewayTimeout && pageSize > minPageSize:
				// Big pages can time out at Graph: ask for smaller ones.
				pageSize = max(minPageSize, pageSize/2)
				e.log.LogAttrs(ctx, slog.LevelInfo, "sync: 504; smaller pages", slog.String("mailbox", p.key), slog.Int("pageSize", pageSize))
				continue
			}
			return c, err
		}
		if err := p.fence(ctx); err != nil {
			return c, err
		}
		out := &Page{Mailbox: p.mb, Folder: f, Generation: c.Generation, Upserts: upserts[:0]}
		removed := 0
		for i := range page.Value {
			m := &page.Value[i]
			if m.Removed != nil {
				c.Pending = append(c.Pending, Removal{ID: m.ID, FolderID: f.ID})
				removed++
				continue
			}
			if c.Unfiltered && !c.Since.IsZero() && m.ReceivedAt.Before(c.Since) {
				continue // outside the window: the client-side cut
			}
			m.FolderID = f.ID
			out.Upserts = append(out.Upserts, m.Message)
		}
		upserts = out.Upserts
		p.itemErrors(ctx, f, page.ItemErrors)
		if len(out.Upserts) > 0 {
			if err := p.apply(ctx, out); err != nil {
				return c, err
			}
			if len(c.Pending) > removed {
				c.Pending = cancelRemovals(c.Pending, out.Upserts)
			}
		}
		e.pages.Add(1)
		e.items.Add(int64(len(out.Upserts)))
		c.Delivered += len(page.Value) + len(page.ItemErrors)
		p.progress(len(out.Upserts))
		if page.NextLink != "" {
			c.Link = page.NextLink
			if err := p.save(ctx, f, c); err != nil {
				return c, err
			}
			continue
		}
		if page.DeltaLink == "" {
			return c, fmt.Errorf("sync: %s folder %s: a last page without a deltaLink: %w", p.mb, f.ID, m365link.ErrMalformedResponse)
		}
		if p.capped(f, c) {
			// Graph stops a filtered delta at 5,000 messages and says
			// nothing: redo the round unfiltered and cut by date here.
			e.log.LogAttrs(ctx, slog.LevelInfo, "sync: filtered delta capped; falling back to unfiltered",
				slog.String("mailbox", p.key), slog.String("folder", f.ID), slog.Int("delivered", c.Delivered), slog.Bool("initial", c.Initial))
			c.Unfiltered = true
			if c.Initial {
				// What came so far is in the sink under this generation;
				// the unfiltered round delivers it again.
				c.Link, c.Delivered = "", 0
				if err := p.save(ctx, f, c); err != nil {
					return c, err
				}
			} else if c, err = p.startResync(ctx, f, c); err != nil {
				// Changes beyond the cap, removals among them, are unknown:
				// only a full resync with tombstones is exact.
				return c, err
			}
			continue
		}
		c.Link, c.Initial, c.Delivered = page.DeltaLink, false, 0
		if err := p.save(ctx, f, c); err != nil {
			return c, err
		}
		return c, nil
	}
}

// capped reports whether a filtered round that just ended may have been cut
// short by Graph's cap. A first round that delivered the whole folder
// (totalItemCount) was not.
func (p *pass) capped(f Folder, c Cursor) bool {
	if c.Since.IsZero() || c.Unfiltered || c.Delivered < p.e.cfg.FilteredDeltaCap {
		return false
	}
	return !c.Initial || f.Total <= 0 || f.Total > c.Delivered
}

// cancelRemovals drops pending removals of messages upserted since: the
// message came back to the folder (after a crash left the removal pending).
func cancelRemovals(pending []Removal, upserts []m365link.Message) []Removal {
	ids := make(map[string]struct{}, len(upserts))
	for i := range upserts {
		ids[upserts[i].ID] = struct{}{}
	}
	return slices.DeleteFunc(pending, func(r Removal) bool {
		_, ok := ids[r.ID]
		return ok
	})
}

func (p *pass) itemErrors(ctx context.Context, f Folder, errs []*m365link.ItemError) {
	if len(errs) == 0 {
		return
	}
	p.e.itemErrors.Add(int64(len(errs)))
	p.mu.Lock()
	p.st.ItemErrors += len(errs)
	p.mu.Unlock()
	for _, ie := range errs {
		p.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: message not understood", slog.String("mailbox", p.key),
			slog.String("folder", f.ID), slog.String("id", ie.ID), slog.Int("index", ie.Index), slog.String("error", ie.Err.Error()))
		if p.e.cfg.OnItemError != nil {
			p.e.cfg.OnItemError(p.mb, ie)
		}
	}
}

// resync handles Graph discarding folder f's sync state: a full resync,
// unless the folder keeps being reset, which degrades the mailbox.
func (p *pass) resync(ctx context.Context, f Folder, c Cursor) (Cursor, error) {
	e := p.e
	now := time.Now()
	recent := c.Resets[:0]
	for _, t := range c.Resets {
		if now.Sub(t) < e.cfg.ResyncWindow {
			recent = append(recent, t)
		}
	}
	c.Resets = append(recent, now)
	if len(c.Resets) > e.cfg.MaxResyncs {
		// The cursor stays as it is: the first pass after the window meets
		// the reset again and resyncs then.
		if err := p.save(ctx, f, c); err != nil {
			return c, err
		}
		return c, fmt.Errorf("%w: %s folder %s reset %d times in %s", ErrDegraded, p.mb, f.ID, len(c.Resets), e.cfg.ResyncWindow)
	}
	e.resyncs.Add(1)
	e.log.LogAttrs(ctx, slog.LevelInfo, "sync: sync state reset; full resync", slog.String("mailbox", p.key), slog.String("folder", f.ID))
	return p.startResync(ctx, f, c)
}

// startResync begins a full round of f under a new generation; at its end
// the sink deletes what the round did not deliver.
func (p *pass) startResync(ctx context.Context, f Folder, c Cursor) (Cursor, error) {
	c.Generation++
	c.Link, c.Resyncing, c.Initial, c.Delivered = "", true, true, 0
	if err := p.reset(ctx, Reset{Mailbox: p.mb, FolderID: f.ID, Phase: ResetBegin, Generation: c.Generation}); err != nil {
		return c, err
	}
	if err := p.save(ctx, f, c); err != nil {
		return c, err
	}
	p.phase(true)
	return c, nil
}

// phase records whether a folder's round is a first (or full) one: the
// mailbox shows "initial sync" while any folder is in one. A change is
// published at once, so the host sees a pass start.
func (p *pass) phase(initial bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.st.State
	if initial {
		p.st.State = StateInitial
	} else if p.st.State != StateInitial {
		p.st.State = StateIncremental
	}
	if p.st.State != old {
		p.e.publish(p.st)
	}
}

// progress counts a page and publishes the status. Publishing under p.mu
// keeps a mailbox's statuses in order and its OnProgress calls apart.
func (p *pass) progress(items int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Pages++
	p.st.Items += items
	p.e.publish(p.st)
}
