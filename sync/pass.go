package sync

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/m365link/m365link"
)

// pass is one sync of one mailbox.
type pass struct {
	e   *Engine
	mb  m365link.Mailbox
	key string
	tok TokenSource
	// kinds are the kinds this pass syncs.
	kinds []Kind
	// planned holds the cursors plan read (by ref), so that the probe
	// and each folder's round start from them without reading them again;
	// each is taken once (only this pass writes them meanwhile).
	planned map[string]cursor
	// probed holds the first page of folders the probe fetched (by ref);
	// each is taken once.
	probed map[string]probed

	sinkMu gosync.Mutex // the sink never sees two calls for one mailbox at once

	mu       gosync.Mutex // guards the fields below
	st       Status
	resolved *folderSet     // what the configured folders resolved to (kept in the mailbox record)
	missing  []string       // configured folders the mailbox does not have
	denied   []string       // calendars and contact folders Graph refused
	cut      []string       // folders whose children lie deeper than MaxFolderDepth
	relist   bool           // a folder answered 404: look the folders up again next pass
	expects  map[string]int // folder ID -> messages its full round should deliver

	requests atomic.Int64 // attempts this pass sent, retries included
}

// observe counts one attempt of one of the pass's requests.
func (p *pass) observe(status int) {
	p.requests.Add(1)
	p.e.observe(status)
}

func (p *pass) run(ctx context.Context) error {
	var folders []Folder
	var err error
	if len(p.kinds) > 0 {
		folders, err = p.folders(ctx)
	}
	if errors.Is(err, m365link.ErrNotFound) && !errors.Is(err, m365link.ErrMailboxNotEnabled) {
		// None of the configured folders exists (any more): what earlier
		// passes synced is gone and is emptied all the same.
		if derr := p.dropFolders(ctx, nil); derr != nil {
			return derr
		}
		return err
	}
	if err != nil {
		return err
	}
	if err := p.recordFolders(ctx, folders); err != nil {
		return err
	}
	if err := p.plan(ctx, folders); err != nil {
		return err
	}
	p.probed = p.probe(ctx, folders)
	cursors, errs, err := p.syncFolders(ctx, folders)
	if err != nil {
		return err
	}
	return p.conclude(ctx, folders, cursors, errs)
}

// syncFolders runs every folder's round, FolderConcurrency at a time. The
// folder is the unit of failure: one that fails leaves the others to
// finish and checkpoint (errs holds each folder's outcome). Only a failure
// of the whole mailbox — its account, its lease, throttling, the host's
// stores — stops them all, and is returned as err.
func (p *pass) syncFolders(ctx context.Context, folders []Folder) (cursors []cursor, errs []error, err error) {
	fctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cursors, errs = make([]cursor, len(folders)), make([]error, len(folders))
	each(fctx, len(folders), p.e.cfg.Schedule.FolderConcurrency, func(i int) {
		cursors[i], errs[i] = p.folder(fctx, folders[i])
		if errs[i] != nil && mailboxWide(fctx, folders[i], errs[i]) {
			stop(errs[i])
		}
	})
	if fctx.Err() != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, context.Cause(fctx)
	}
	return cursors, errs, nil
}

// conclude ends a pass whose folders all ran: removals and sweeps,
// failures recorded, folders that dropped out emptied. It returns one
// [FolderError] per failed folder, joined.
//
// Removals and sweeps were deferred to here, after every folder's round,
// so that a message moved into another synced folder has been upserted
// there first and the sink ignores its removal: a move is an update, never
// a delete and a create. While a folder that was tried failed, they wait
// (saved in the cursors) for a pass in which every tried folder finished:
// the message may have moved into it. A folder backing off is not tried,
// so it holds them up only in the passes that try it. Items never move
// between kinds, so a failed calendar holds up no mail removal.
//
// A calendar or contact folder Graph refuses (403, consent required: the
// tenant or the user granted mail but not Calendars.Read or Contacts.Read)
// is not the mailbox's failure: it backs off like any failed folder, and
// the mailbox's status names it, but the pass finishes.
func (p *pass) conclude(ctx context.Context, folders []Folder, cursors []cursor, errs []error) error {
	unfinished := map[Kind]bool{}
	for i, err := range errs {
		if err != nil && !errors.Is(err, ErrFolderBackoff) && !errors.Is(err, ErrDegraded) {
			unfinished[kindOf(folders[i])] = true
		}
	}
	var failed []error
	for i, f := range folders {
		switch {
		case errs[i] != nil:
			if err := p.failed(ctx, f, errs[i]); err != nil {
				return err
			}
			if denied(f, errs[i]) {
				p.deny(f)
				continue
			}
			failed = append(failed, &FolderError{Folder: f, Err: errs[i]})
		case !unfinished[kindOf(f)]:
			if err := p.settle(ctx, f, cursors[i]); err != nil {
				return err
			}
		}
	}
	if err := p.dropFolders(ctx, folders); err != nil {
		return err
	}
	return errors.Join(failed...)
}

// settle hands the sink a finished folder's pending removals and, after a
// full round, the sweep of older generations.
func (p *pass) settle(ctx context.Context, f Folder, c cursor) error {
	sweep := c.Resyncing && !c.Initial
	if len(c.Pending) == 0 && !sweep {
		return nil
	}
	if err := p.fence(ctx); err != nil {
		return err
	}
	if len(c.Pending) > 0 {
		if err := p.sinkRemovals(ctx, f, c.Generation, c.Pending); err != nil {
			return err
		}
		p.e.removals.Add(int64(len(c.Pending)))
		c.Pending = nil
	}
	if sweep {
		if err := p.reset(ctx, f, Reset{Mailbox: p.mb, Phase: ResetEnd, Generation: c.Generation}); err != nil {
			return err
		}
		c.Resyncing = false
	}
	return p.save(ctx, f, c)
}

// maxSkip bounds the backoff of a failing folder, in passes.
const maxSkip = 31

// failed records a folder's failure in its cursor: after n failed passes
// in a row the next 2^(n-1)-1 passes (at most maxSkip) leave it alone.
// Only the failure fields change: the cursor is re-read, so nothing of the
// failed attempt that was not saved is kept.
func (p *pass) failed(ctx context.Context, f Folder, err error) error {
	if errors.Is(err, ErrDegraded) || errors.Is(err, ErrFolderBackoff) {
		return nil // already recorded
	}
	if errors.Is(err, m365link.ErrNotFound) {
		p.relist = true // the folder may be gone: look the folders up again
	}
	c, lerr := p.e.loadCursor(ctx, p.key, f.ref())
	if lerr != nil {
		return lerr
	}
	c.Failures++
	c.Skip = min(1<<min(c.Failures-1, 5)-1, maxSkip)
	c.LastError = err.Error()
	c.Denied = denied(f, err)
	return p.save(ctx, f, c)
}

// mailboxWide reports whether err, met by folder f, concerns the whole
// mailbox rather than one folder: cancellation, a lost lease, the account
// or mailbox, Graph throttling the mailbox, or the host's sink and state
// store. A refusal of a calendar or contact folder (see [denied]) is the
// folder's alone.
func mailboxWide(ctx context.Context, f Folder, err error) bool {
	var he *hostError
	if denied(f, err) {
		return ctx.Err() != nil
	}
	return ctx.Err() != nil || errors.As(err, &he) ||
		errors.Is(err, ErrLeaseLost) ||
		errors.Is(err, m365link.ErrReconnectRequired) ||
		errors.Is(err, m365link.ErrMailboxNotEnabled) ||
		errors.Is(err, m365link.ErrUnauthorized) ||
		errors.Is(err, m365link.ErrForbidden) ||
		errors.Is(err, m365link.ErrConsentRequired) ||
		errors.Is(err, m365link.ErrThrottled)
}

// hostError is a failure of the host's sink, state store or lease store.
type hostError struct {
	op  string
	err error
}

func hostErr(op string, err error) error { return &hostError{op: op, err: err} }

func (e *hostError) Error() string { return e.op + ": " + e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }

// recordFolders saves, before anything is synced, every folder this pass
// will touch next to those earlier passes did (Status.Folders): a folder
// that disappears later is then always emptied in the sink, even when no
// pass finished while it existed.
func (p *pass) recordFolders(ctx context.Context, folders []Folder) error {
	p.mu.Lock()
	known := p.st.Folders
	added := false
	for _, f := range folders {
		if !slices.Contains(known, f.ref()) {
			known = append(known, f.ref())
			added = true
		}
	}
	p.st.Folders = known
	st := p.st
	p.mu.Unlock()
	if !added {
		return nil
	}
	p.mu.Lock()
	rec := mailboxRecord{Status: st, Resolved: p.resolved}
	p.mu.Unlock()
	if err := p.e.saveRecord(ctx, rec); err != nil {
		return err
	}
	return nil
}

// dropFolders empties in the sink the folders earlier passes synced and
// this one did not find (deleted, moved out of a synced parent, no longer
// configured), and forgets their cursors.
func (p *pass) dropFolders(ctx context.Context, folders []Folder) error {
	ids := make([]string, len(folders))
	for i, f := range folders {
		ids[i] = f.ref()
	}
	p.mu.Lock()
	prev := slices.Clone(p.st.Folders)
	p.mu.Unlock()
	for _, id := range prev {
		if slices.Contains(ids, id) {
			continue
		}
		if err := p.fence(ctx); err != nil {
			return err
		}
		// The cursor first, its generation kept: should the folder come
		// back (even after a crash right here), it starts a full round
		// under a newer generation, which ends with a sweep.
		c, err := p.e.loadCursor(ctx, p.key, id)
		if err != nil {
			return err
		}
		f := folderOfRef(id)
		if err := p.save(ctx, f, cursor{Generation: c.Generation}); err != nil {
			return err
		}
		p.e.log.LogAttrs(ctx, slog.LevelInfo, "sync: folder no longer synced; emptied", mailboxAttr(p.mb), slog.String("folder", id))
		if err := p.reset(ctx, f, Reset{Mailbox: p.mb, Phase: ResetEnd, Generation: DropGeneration}); err != nil {
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
		return hostErr("sink", err)
	}
	return nil
}

func (p *pass) save(ctx context.Context, f Folder, c cursor) error {
	return p.e.saveCursor(ctx, p.key, f.ref(), c)
}

// fence renews the lease before the sink is written to: a worker that
// stalled past its lease (and may have been replaced) stops here.
func (p *pass) fence(ctx context.Context) error {
	e := p.e
	if e.cfg.Leases == nil {
		return nil
	}
	ok, err := e.cfg.Leases.Acquire(ctx, p.key, e.owner, e.cfg.Schedule.LeaseTTL)
	if err != nil {
		return hostErr("renew lease", err)
	}
	if !ok {
		return ErrLeaseLost
	}
	return nil
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

// plan sets the progress a pass starts from: the folders in a full round
// (or about to start one) and what each should deliver, and what earlier,
// interrupted passes already delivered in those rounds, so progress never
// goes backwards.
func (p *pass) plan(ctx context.Context, folders []Folder) error {
	p.planned = make(map[string]cursor, len(folders))
	for _, f := range folders {
		c, err := p.e.loadCursor(ctx, p.key, f.ref())
		if err != nil {
			return err
		}
		p.planned[f.ref()] = c
		switch {
		case c.Skip > 0 || time.Now().Before(c.DegradedUntil):
			// Left alone this pass: no request for it.
		case c.Link == "":
			if c.Generation == 0 {
				c.Since = p.e.cfg.Window.start(time.Now())
			}
			p.estimate(f, p.expect(ctx, f, c))
		case c.Initial:
			p.estimate(f, c.Expect)
			p.mu.Lock()
			p.st.Items += c.Upserted
			p.mu.Unlock()
		}
	}
	return nil
}

// expected returns what plan estimated for folder f's full round.
func (p *pass) expected(f Folder) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.expects[f.ref()]
	return n, ok
}

// estimate records what folder f's full round should deliver; Status.Estimate
// is the sum over the folders in a full round.
func (p *pass) estimate(f Folder, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.expects == nil {
		p.expects = map[string]int{}
	}
	p.expects[f.ref()] = n
	p.st.Estimate = 0
	for _, v := range p.expects {
		p.st.Estimate += v
	}
}

// each runs f(i) for every i below n, at most limit at once, and starts
// no more once ctx ends; it returns when every f it started returned.
func each(ctx context.Context, n, limit int, f func(i int)) {
	slots := make(chan struct{}, limit)
	var wg gosync.WaitGroup
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			f(i)
		})
	}
	wg.Wait()
}

// errDenied marks the backoff of a folder Graph refused: see [denied].
var errDenied = errors.New("not permitted")

// denied reports whether err is Graph refusing a calendar or contact
// folder to this app or user (403, consent required), or the backoff
// after such a refusal: the kind is not granted (Calendars.Read or
// Contacts.Read), while mail may well be.
func denied(f Folder, err error) bool {
	if kindOf(f) == KindMail {
		return false
	}
	return errors.Is(err, m365link.ErrForbidden) || errors.Is(err, m365link.ErrConsentRequired) || errors.Is(err, errDenied)
}

// deny records a refused calendar or contact folder for the status.
func (p *pass) deny(f Folder) {
	name := string(kindOf(f)) + ":" + f.Name
	if f.Name == "" {
		name = f.ref()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.denied, name) {
		p.denied = append(p.denied, name)
	}
}
