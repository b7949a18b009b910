package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// FolderSpec names a folder to sync: a well-known name ("inbox",
// "sentitems", "archive"), a display-name path ("Inbox/Vendors"), or an ID.
type FolderSpec struct {
	WellKnown string
	Path      string
	ID        string
}

// Default folders: Inbox and Sent Items.
var DefaultFolders = []FolderSpec{{WellKnown: "inbox"}, {WellKnown: "sentitems"}}

// Window bounds how far back the first sync goes. The zero value syncs
// everything.
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
	// descendants.
	Folders      []FolderSpec
	ChildFolders bool
	// Window bounds the history of the first sync.
	Window Window
	// IncludeBody adds message bodies (as text) to the lean selection.
	IncludeBody bool
	// PageSize is asked for with Prefer: odata.maxpagesize; default 1000.
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
	// Owner names this worker in leases; default random.
	Owner string
	// LeaseTTL bounds how long a crashed worker holds a mailbox; default 2 minutes.
	LeaseTTL time.Duration

	// Workers bounds how many mailboxes sync at once; default 8.
	Workers int
	// Interval between incremental rounds of a mailbox; default 1 minute.
	Interval time.Duration
	// PolicyInterval between re-reads of the policy; default 10 minutes.
	PolicyInterval time.Duration
	// MaxResyncs in ResyncWindow before a mailbox is degraded; default 3 in 1 hour.
	MaxResyncs   int
	ResyncWindow time.Duration

	// OnProgress, if set, is called after every page with the mailbox's status.
	OnProgress func(Status)
	// Logger receives sync events (never tokens or delta links); nil discards.
	Logger *slog.Logger
}

// Retry bounds the retries of one Graph request (429, 503, 504, dropped
// connections, garbled bodies). Zero fields take the defaults: 6 attempts,
// 500 ms first backoff step, 30 s largest step, 2 minutes in all, and a
// Retry-After floor of 1 s.
type Retry struct {
	MaxAttempts                                    int
	BaseDelay, MaxDelay, MaxElapsed, MinRetryAfter time.Duration
}

// Counters are totals since the engine started, for a host's metrics.
type Counters struct {
	Items, Removals, Pages, Requests, Throttled, Resyncs, ItemErrors int64
}

// Engine syncs mailboxes into a Sink. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	gc    *graph.Client
	log   *slog.Logger
	owner string

	items, removals, pages, requests, throttled, resyncs, itemErrors atomic.Int64

	mu       gosync.Mutex
	policy   Policy
	repolicy bool // SetPolicy was called: Run re-reads the policy now
	statuses map[string]Status
	running  map[string]bool
	wake     chan struct{}
	due      map[string]time.Time
}

// New checks cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Tokens == nil || cfg.Sink == nil || cfg.State == nil {
		return nil, errors.New("sync: Config needs Tokens, Sink and State")
	}
	if len(cfg.Folders) == 0 {
		cfg.Folders = DefaultFolders
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	if cfg.FilteredDeltaCap <= 0 {
		cfg.FilteredDeltaCap = 5000
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 2 * time.Minute
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
	e := &Engine{cfg: cfg, log: cfg.Logger, owner: cfg.Owner, policy: cfg.Policy, statuses: map[string]Status{}, running: map[string]bool{},
		wake: make(chan struct{}, 1), due: map[string]time.Time{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.owner == "" {
		e.owner = fmt.Sprintf("worker-%d-%d", time.Now().UnixNano(), e.requests.Load())
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

// Counters returns the totals so far.
func (e *Engine) Counters() Counters {
	return Counters{Items: e.items.Load(), Removals: e.removals.Load(), Pages: e.pages.Load(), Requests: e.requests.Load(),
		Throttled: e.throttled.Load(), Resyncs: e.resyncs.Load(), ItemErrors: e.itemErrors.Load()}
}

// Status returns a mailbox's status (by [m365link.Mailbox.Key]).
func (e *Engine) Status(mailboxKey string) (Status, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.statuses[mailboxKey]
	return s, ok
}

func (e *Engine) setStatus(ctx context.Context, s Status) {
	e.mu.Lock()
	e.statuses[s.Mailbox.Key()] = s
	e.mu.Unlock()
	if err := e.cfg.State.SaveStatus(ctx, s); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: save status", slog.String("mailbox", s.Mailbox.Key()), slog.String("error", err.Error()))
	}
	if e.cfg.OnProgress != nil {
		e.cfg.OnProgress(s)
	}
}

// SyncOnce runs one pass over a mailbox: every configured folder to the
// end of its current delta round, then the deferred removals. It returns
// the first error; the mailbox's status says what it means for the host.
func (e *Engine) SyncOnce(ctx context.Context, mb m365link.Mailbox) error {
	if mb.TenantID == "" {
		mb.TenantID = e.cfg.TenantID
	}
	if e.cfg.Leases != nil {
		ok, err := e.cfg.Leases.Acquire(ctx, mb.Key(), e.owner, e.cfg.LeaseTTL)
		if err != nil {
			return fmt.Errorf("sync: lease %s: %w", mb, err)
		}
		if !ok {
			return ErrLeaseLost
		}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = e.cfg.Leases.Release(rctx, mb.Key(), e.owner)
		}()
	}
	st, _ := e.Status(mb.Key())
	st.Mailbox, st.Pages, st.Items, st.Reason, st.ThrottledUntil = mb, 0, 0, "", time.Time{}
	p := &pass{e: e, mb: mb, tok: e.cfg.Tokens(mb), st: st}
	err := p.run(ctx)
	e.finish(ctx, p, err)
	return err
}

// finish records the outcome of a pass in the mailbox's status.
func (e *Engine) finish(ctx context.Context, p *pass, err error) {
	st := p.st
	var ge *m365link.GraphError
	var re *m365link.ReconnectError
	switch {
	case err == nil:
		st.State, st.LastSync = StateIdle, time.Now()
	case errors.Is(err, ErrDegraded):
		st.State, st.Reason = StateDegraded, "Graph reset the sync state too often; paused"
	case errors.As(err, &re):
		st.State, st.Reason = StateReconnectRequired, string(re.Reason)
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		st.State, st.Reason = StateNotMailEnabled, "no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises)"
	case errors.Is(err, m365link.ErrThrottled):
		st.State = StateThrottled
		if errors.As(err, &ge) && ge.RetryAfter > 0 {
			st.ThrottledUntil = time.Now().Add(ge.RetryAfter)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, ErrLeaseLost):
		return
	default:
		st.Reason = err.Error()
	}
	e.setStatus(ctx, st)
}

// pass is one sync of one mailbox.
type pass struct {
	e   *Engine
	mb  m365link.Mailbox
	tok TokenSource
	st  Status
}

func (p *pass) run(ctx context.Context) error {
	folders, err := p.folders(ctx)
	if err != nil {
		return err
	}
	for _, f := range folders {
		p.st.Estimate += f.Total
	}
	for _, f := range folders {
		if err := p.folder(ctx, f); err != nil {
			return err
		}
	}
	// Removals were deferred to here so that a move into another synced
	// folder (reported there as a new item) is applied first.
	for _, f := range folders {
		c, err := p.e.cfg.State.LoadCursor(ctx, p.mb.Key(), f.ID)
		if err != nil {
			return err
		}
		if len(c.Pending) == 0 {
			continue
		}
		if err := p.e.cfg.Sink.Apply(ctx, &Page{Mailbox: p.mb, Folder: f, Generation: c.Generation, Removals: c.Pending}); err != nil {
			return fmt.Errorf("sync: sink: %w", err)
		}
		p.e.removals.Add(int64(len(c.Pending)))
		c.Pending = nil
		if err := p.e.cfg.State.SaveCursor(ctx, p.mb.Key(), f.ID, c); err != nil {
			return err
		}
	}
	return nil
}

func (p *pass) request(path string, q url.Values) *graph.Request {
	h := http.Header{"Prefer": {fmt.Sprintf("odata.maxpagesize=%d", p.e.cfg.PageSize)}}
	if p.e.cfg.IncludeBody {
		h.Add("Prefer", `outlook.body-content-type="text"`)
	}
	return &graph.Request{Path: path, Query: q, Header: h, Mailbox: p.mb.UserID, Token: p.tok}
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
	for _, spec := range p.e.cfg.Folders {
		f, err := p.resolve(ctx, spec)
		if err != nil {
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
	return out, nil
}

type wireFolder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	TotalItemCount   int    `json:"totalItemCount"`
	ChildFolderCount int    `json:"childFolderCount"`
}

func (p *pass) getFolder(ctx context.Context, key string) (wireFolder, error) {
	var wf wireFolder
	err := p.e.gc.JSON(ctx, p.request(graph.Path("users", p.mb.UserID, "mailFolders", key),
		url.Values{"$select": {"id,displayName,totalItemCount,childFolderCount"}}), &wf)
	return wf, err
}

func (p *pass) listChildren(ctx context.Context, id string) ([]wireFolder, error) {
	var out []wireFolder
	req := p.request(graph.Path("users", p.mb.UserID, "mailFolders", id, "childFolders"),
		url.Values{"$select": {"id,displayName,totalItemCount,childFolderCount"}, "$top": {"100"}})
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

func (p *pass) children(ctx context.Context, f Folder, depth int) ([]Folder, error) {
	if depth > 10 {
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

// base is the first request of a full round of folder f.
func (p *pass) base(f Folder, c Cursor, start time.Time) *graph.Request {
	sel := graph.MessageSelect
	if p.e.cfg.IncludeBody {
		sel += ",body"
	}
	q := url.Values{"$select": {sel}}
	if !start.IsZero() && !c.Unfiltered {
		q.Set("$filter", "receivedDateTime ge "+start.Format(time.RFC3339))
	}
	return p.request(graph.Path("users", p.mb.UserID, "mailFolders", f.ID, "messages", "delta"), q)
}

// folder syncs one folder to the end of its current delta round.
func (p *pass) folder(ctx context.Context, f Folder) error {
	e := p.e
	key := p.mb.Key()
	c, err := e.cfg.State.LoadCursor(ctx, key, f.ID)
	if err != nil {
		return fmt.Errorf("sync: load cursor: %w", err)
	}
	if c.Link == "" && c.Generation == 0 {
		c.Initial, c.Generation = true, 1
	}
	start := e.cfg.Window.start(time.Now())
	pageSize := e.cfg.PageSize
	if c.Initial {
		p.st.State = StateInitial
	} else {
		p.st.State = StateIncremental
	}
	for {
		req := p.base(f, c, start)
		req.Header.Set("Prefer", fmt.Sprintf("odata.maxpagesize=%d", pageSize))
		if e.cfg.IncludeBody {
			req.Header.Add("Prefer", `outlook.body-content-type="text"`)
		}
		if c.Link != "" {
			req = &graph.Request{URL: c.Link, Header: req.Header, Mailbox: req.Mailbox, Token: req.Token}
		}
		if e.cfg.Leases != nil {
			ok, err := e.cfg.Leases.Acquire(ctx, key, e.owner, e.cfg.LeaseTTL)
			if err != nil {
				return fmt.Errorf("sync: renew lease: %w", err)
			}
			if !ok {
				return ErrLeaseLost
			}
		}
		page, err := graph.GetPage[graph.Message](ctx, e.gc, req)
		if errors.Is(err, m365link.ErrSyncReset) {
			if c, err = p.reset(ctx, f, c); err != nil {
				return err
			}
			continue
		}
		var ge *m365link.GraphError
		if errors.As(err, &ge) && ge.StatusCode == http.StatusGatewayTimeout && pageSize > 50 {
			// Big pages can time out at Graph: ask for smaller ones.
			pageSize /= 2
			e.log.LogAttrs(ctx, slog.LevelInfo, "sync: 504; smaller pages", slog.String("mailbox", key), slog.Int("pageSize", pageSize))
			continue
		}
		if err != nil {
			return err
		}
		out := &Page{Mailbox: p.mb, Folder: f, Generation: c.Generation, Upserts: make([]m365link.Message, 0, len(page.Value))}
		var removals []Removal
		for i := range page.Value {
			m := &page.Value[i]
			if m.Removed != nil {
				removals = append(removals, Removal{ID: m.ID, FolderID: f.ID})
				continue
			}
			if c.Unfiltered && !start.IsZero() && m.ReceivedAt.Before(start) {
				continue // outside the window: the client-side cut
			}
			if m.FolderID == "" {
				m.FolderID = f.ID
			}
			out.Upserts = append(out.Upserts, m.Message)
		}
		for _, ie := range page.ItemErrors {
			e.itemErrors.Add(1)
			p.st.ItemErrors++
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: item not understood", slog.String("mailbox", key),
				slog.String("folder", f.ID), slog.String("id", ie.ID), slog.Int("index", ie.Index), slog.String("error", ie.Err.Error()))
		}
		if len(out.Upserts) > 0 {
			if err := e.cfg.Sink.Apply(ctx, out); err != nil {
				return fmt.Errorf("sync: sink: %w", err)
			}
		}
		e.pages.Add(1)
		e.items.Add(int64(len(out.Upserts)))
		p.st.Pages++
		p.st.Items += len(out.Upserts)
		c.Pending = append(c.Pending, removals...)
		c.Delivered += len(page.Value) - len(removals)
		if page.NextLink != "" {
			c.Link = page.NextLink
			if err := e.cfg.State.SaveCursor(ctx, key, f.ID, c); err != nil {
				return fmt.Errorf("sync: save cursor: %w", err)
			}
			p.progress()
			continue
		}
		if page.DeltaLink == "" {
			return fmt.Errorf("sync: %s folder %s: a last page without a deltaLink: %w", p.mb, f.ID, m365link.ErrMalformedResponse)
		}
		if c.Initial && !start.IsZero() && !c.Unfiltered && c.Delivered >= e.cfg.FilteredDeltaCap && f.Total > c.Delivered {
			// Graph stops a filtered delta at 5,000 messages and says nothing.
			// When the folder holds more than that, some may be missing: redo
			// the round unfiltered and cut by date here.
			e.log.LogAttrs(ctx, slog.LevelInfo, "sync: filtered delta capped; falling back to unfiltered",
				slog.String("mailbox", key), slog.String("folder", f.ID), slog.Int("delivered", c.Delivered))
			c.Unfiltered, c.Link, c.Delivered = true, "", 0
			if err := e.cfg.State.SaveCursor(ctx, key, f.ID, c); err != nil {
				return fmt.Errorf("sync: save cursor: %w", err)
			}
			continue
		}
		if c.Resyncing {
			if err := e.cfg.Sink.Reset(ctx, Reset{Mailbox: p.mb, FolderID: f.ID, Phase: ResetEnd, Generation: c.Generation}); err != nil {
				return fmt.Errorf("sync: sink: %w", err)
			}
			c.Resyncing = false
		}
		c.Link, c.Initial, c.Delivered = page.DeltaLink, false, 0
		if err := e.cfg.State.SaveCursor(ctx, key, f.ID, c); err != nil {
			return fmt.Errorf("sync: save cursor: %w", err)
		}
		p.progress()
		return nil
	}
}

// reset starts a full resync of f after Graph discarded its sync state,
// unless the folder keeps being reset, which degrades the mailbox.
func (p *pass) reset(ctx context.Context, f Folder, c Cursor) (Cursor, error) {
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
		c.Link = ""
		if err := e.cfg.State.SaveCursor(ctx, p.mb.Key(), f.ID, c); err != nil {
			return c, err
		}
		return c, fmt.Errorf("%w: %s folder %s reset %d times in %s", ErrDegraded, p.mb, f.ID, len(c.Resets), e.cfg.ResyncWindow)
	}
	e.resyncs.Add(1)
	e.log.LogAttrs(ctx, slog.LevelInfo, "sync: sync state reset; full resync", slog.String("mailbox", p.mb.Key()), slog.String("folder", f.ID))
	c.Generation++
	c.Link, c.Resyncing, c.Initial, c.Delivered = "", true, true, 0
	if err := e.cfg.Sink.Reset(ctx, Reset{Mailbox: p.mb, FolderID: f.ID, Phase: ResetBegin, Generation: c.Generation}); err != nil {
		return c, fmt.Errorf("sync: sink: %w", err)
	}
	if err := e.cfg.State.SaveCursor(ctx, p.mb.Key(), f.ID, c); err != nil {
		return c, fmt.Errorf("sync: save cursor: %w", err)
	}
	p.st.State = StateInitial
	return c, nil
}

func (p *pass) progress() {
	p.e.mu.Lock()
	p.e.statuses[p.mb.Key()] = p.st
	p.e.mu.Unlock()
	if p.e.cfg.OnProgress != nil {
		p.e.cfg.OnProgress(p.st)
	}
}
