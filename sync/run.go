package sync

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	gosync "sync"
	"time"

	"github.com/m365link/m365link"
)

// Run syncs the policy's mailboxes until ctx ends. It re-reads the policy
// every PolicyInterval and at once after [Engine.SetPolicy]: newly selected
// mailboxes start, dropped ones stop (a pass in flight is cancelled) and
// the sink is told ([Sink.MailboxRemoved]), their state deleted. At
// start-up, when the StateStore is a [MailboxLister], mailboxes of the
// tenant that have state but left the policy while no engine ran are
// removed the same way.
//
// It runs up to Workers passes at once, each mailbox again Interval (±10%)
// after its last pass ended (or at once after [Engine.Trigger]), first
// passes before incremental ones (see "Many mailboxes" in the package
// documentation), and backs off per mailbox by what went wrong:
// Retry-After when throttled, a day when the user has no mailbox, a few
// minutes when the account must reconnect (or at once after
// [Engine.Trigger], e.g. when the user reconnected), a few seconds when
// another worker holds the mailbox's lease. A
// degraded or failing folder waits on its own while the mailbox's other
// folders keep their Interval.
//
// With Leases that are a [LeaseBalancer] (MemoryLeases, sqlstore's), Run
// owns mailboxes rather than leasing them pass by pass: it keeps the
// leases it takes, renews them all in one call every LeaseTTL/3, syncs
// only the mailboxes it owns, and shares the policy with the other live
// workers — each owns about ceil(mailboxes / live workers), a worker that
// joins gets its share within a few seconds (the others release what they
// own beyond theirs, each mailbox after its pass), and a dead worker's
// mailboxes are taken within a few seconds of its leases' expiry (at most
// LeaseTTL after it died). A [Engine.Trigger] for a mailbox another worker
// owns does nothing here: that worker syncs it. When Run returns it
// releases what it owns. With another LeaseStore, each pass takes its
// mailbox's lease and releases it at the end. One mailbox's trouble never holds up the
// others. Every Schedule.SummaryInterval it logs a summary at Info (see
// [Engine.Summary]). Run returns ctx's error after the passes in flight
// have stopped; it returns [ErrRunning] if called while it runs. A later
// Run starts its schedule anew.
func (e *Engine) Run(ctx context.Context) error {
	if !e.inRun.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.inRun.Store(false)
	lb, balanced := e.cfg.Leases.(LeaseBalancer)
	if balanced {
		e.mu.Lock()
		e.owned = map[string]struct{}{}
		e.mu.Unlock()
		// Deferred before wg.Wait, so it runs after the passes stopped.
		defer e.leave(ctx, lb)
	}
	var wg gosync.WaitGroup
	defer wg.Wait()
	r := &runner{e: e, wg: &wg, slots: make(chan struct{}, e.cfg.Schedule.Workers), first: true, balanced: balanced}
	defer e.endRun()
	if balanced {
		wg.Go(func() { e.balance(ctx, lb) })
	}
	r.nextSummary = time.Now().Add(e.cfg.Schedule.SummaryInterval)
	r.last, r.lastPasses = e.Counters(), e.passes.Load()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		if err := r.refreshPolicy(ctx); err != nil {
			return err
		}
		wake := r.dispatch(ctx)
		if now := time.Now(); !now.Before(r.nextSummary) {
			r.summarize(ctx, now)
		}
		wake = minTime(wake, r.nextSummary)
		t.Reset(max(time.Until(wake), time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.wake:
		case <-t.C:
		}
	}
}

// runner is one Run: its worker slots and when it next reads the policy.
// The schedule itself (which mailboxes, what runs, what is due) lives in
// the engine, guarded by e.mu, so that SetPolicy and Trigger reach it.
type runner struct {
	e           *Engine
	wg          *gosync.WaitGroup
	slots       chan struct{}
	nextPolicy  time.Time
	first       bool
	nextSummary time.Time
	last        Counters // at the last summary
	lastPasses  int64
	balanced    bool // Run owns mailboxes through a LeaseBalancer
}

// refreshPolicy re-reads the policy when it is due (or SetPolicy asked);
// a failure to read it is logged and retried within a minute.
func (r *runner) refreshPolicy(ctx context.Context) error {
	e, now := r.e, time.Now()
	e.mu.Lock()
	if e.repolicy {
		e.repolicy, r.nextPolicy = false, time.Time{}
	}
	e.mu.Unlock()
	if now.Before(r.nextPolicy) {
		return nil
	}
	r.nextPolicy = now.Add(e.cfg.Schedule.PolicyInterval)
	mbs, err := e.Mailboxes(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: read policy", slog.String("error", err.Error()))
		r.nextPolicy = now.Add(min(time.Minute, e.cfg.Schedule.PolicyInterval))
		return nil
	}
	e.applyPolicy(ctx, mbs, r.first)
	r.first = false
	e.pokeBalancer() // the share may have changed
	return nil
}

// dispatch starts the removals and passes that are due, as far as worker
// slots allow, and returns when something next falls due.
func (r *runner) dispatch(ctx context.Context) (wake time.Time) {
	e := r.e
	e.mu.Lock()
	defer e.mu.Unlock()
	t0 := time.Now()
	defer func() { e.schedNanos.Add(int64(time.Since(t0))) }()
	for {
		if len(r.slots) == cap(r.slots) {
			// Every worker is busy: the next wake is a job ending (it pokes).
			return r.nextPolicy
		}
		en, due := e.sched.next(t0)
		if en == nil {
			if due.IsZero() {
				return r.nextPolicy
			}
			return minTime(due, r.nextPolicy)
		}
		if _, mine := e.owned[en.key]; e.owned != nil && !mine && !en.dropped {
			// Parked: another worker's, or free until the balancer
			// takes it (adopt queues it again).
			continue
		}
		r.slots <- struct{}{}
		e.start(ctx, r.wg, r.slots, en)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// start runs en's job, its pass or its removal, in a worker; e.mu is held
// and a worker slot taken.
func (e *Engine) start(ctx context.Context, wg *gosync.WaitGroup, slots chan struct{}, en *entry) {
	jctx, cancel := context.WithCancel(ctx)
	en.running, en.started = cancel, time.Now()
	e.sched.running[en] = struct{}{}
	removal, mb := en.dropped, en.mb
	wg.Go(func() {
		defer func() { <-slots }()
		var err error
		if removal {
			err = e.remove(jctx, mb)
		} else {
			err = e.SyncOnce(jctx, mb)
		}
		cancel()
		e.mu.Lock()
		t0 := time.Now()
		e.ended(en, removal, err)
		e.schedNanos.Add(int64(time.Since(t0)))
		e.mu.Unlock()
		e.poke()
	})
}

// ended queues en again after its job ended with err; e.mu is held.
func (e *Engine) ended(en *entry, removal bool, err error) {
	en.running = nil
	delete(e.sched.running, en)
	if e.sched.entries[en.key] != en {
		return // removed
	}
	now := time.Now()
	switch {
	case !en.dropped:
		if !errors.Is(err, context.Canceled) {
			en.passes = min(en.passes+1, 2)
		}
		e.trimStatus(en.key)
		if en.again {
			e.sched.queue(en, classTriggered, now)
		} else {
			e.sched.queue(en, passClass(en.passes), e.nextRun(en.key, err))
		}
	case removal:
		e.sched.queue(en, classRemove, now.Add(jitter(e.cfg.Schedule.Interval))) // the removal failed: try again
	default:
		e.sched.queue(en, classRemove, now) // a pass the policy change cancelled: remove at once
	}
	en.again = false
}

// trimStatus drops from memory what a settled status needs not keep:
// the folder list of an idle mailbox (Status.Folders; LoadStatus reads it
// from the StateStore). e.mu is held.
func (e *Engine) trimStatus(key string) {
	if st, ok := e.statuses[key]; ok && st.State == StateIdle && st.Folders != nil {
		st.Folders = nil
		e.statuses[key] = st
	}
}

// endRun forgets the schedule when Run returns: the next Run starts anew.
func (e *Engine) endRun() {
	e.mu.Lock()
	e.sched = newSchedule()
	e.mu.Unlock()
}

// applyPolicy starts new mailboxes and marks those the policy dropped for
// removal, cancelling their passes in flight.
func (e *Engine) applyPolicy(ctx context.Context, mbs []m365link.Mailbox, first bool) {
	current := make(map[string]m365link.Mailbox, len(mbs))
	for _, mb := range mbs {
		current[mb.Key()] = mb
	}
	var stale []m365link.Mailbox
	if lister, ok := e.cfg.State.(MailboxLister); ok && first {
		keys, err := lister.ListMailboxes(ctx)
		if err != nil {
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: list mailboxes with state", slog.String("error", err.Error()))
		}
		prefix := strings.ToLower(e.cfg.TenantID) + "/"
		for _, k := range keys {
			if _, ok := current[k]; ok || !strings.HasPrefix(k, prefix) || len(k) == len(prefix) {
				continue
			}
			mb := m365link.Mailbox{TenantID: e.cfg.TenantID, UserID: k[len(prefix):]}
			if rec, err := e.loadRecord(ctx, k); err == nil && rec.Mailbox.Key() == k {
				mb = rec.Mailbox // with its UPN, for the sink
			}
			stale = append(stale, mb)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t0 := time.Now()
	defer func() { e.schedNanos.Add(int64(time.Since(t0))) }()
	s := &e.sched
	now := time.Now()
	drop := func(en *entry) {
		en.dropped = true
		if en.running != nil {
			en.running()
		} else {
			s.queue(en, classRemove, now)
		}
	}
	for k, en := range s.entries {
		if _, ok := current[k]; !ok && !en.dropped {
			drop(en)
		}
	}
	for _, mb := range stale {
		k := mb.Key()
		if _, ok := s.entries[k]; !ok {
			en := &entry{mb: mb, key: k, index: -1}
			s.entries[k] = en
			drop(en)
		}
	}
	for k, mb := range current {
		en := s.entries[k]
		if en == nil {
			en = &entry{key: k, index: -1}
			s.entries[k] = en
			s.queue(en, classFirst, time.Time{})
		} else if en.dropped {
			en.dropped = false
			if en.running == nil {
				s.queue(en, passClass(en.passes), now)
			}
		}
		en.mb = mb
	}
	// A removed mailbox's status is shown until the policy is read again.
	for k, st := range e.statuses {
		if _, ok := s.entries[k]; !ok && st.State == StateRemoved {
			delete(e.statuses, k)
		}
	}
}

// remove tells the sink that a mailbox left the policy and forgets its
// state, holding the mailbox (lock and lease) so no pass runs meanwhile.
func (e *Engine) remove(ctx context.Context, mb m365link.Mailbox) error {
	k := mb.Key()
	unlock, err := e.lockMailbox(ctx, k)
	if err != nil {
		return err
	}
	defer unlock()
	release, err := e.lease(ctx, mb)
	if err != nil {
		return err // another worker is syncing it: try again later
	}
	defer release()
	if err := e.mailboxRemoved(ctx, mb); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: sink refused a mailbox removal", mailboxAttr(mb), slog.String("error", err.Error()))
		return err
	}
	if err := e.cfg.State.DeleteMailbox(ctx, k); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: delete mailbox state", mailboxAttr(mb), slog.String("error", err.Error()))
		return err
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "sync: mailbox removed", mailboxAttr(mb))
	if e.disown(k) {
		e.releaseLease(ctx, mb) // Run kept its lease: give it up with the mailbox
	}
	e.mu.Lock()
	if en := e.sched.entries[k]; en != nil && en.dropped {
		delete(e.sched.entries, k)
		e.sched.unqueue(en)
	}
	e.mu.Unlock()
	e.publish(Status{Mailbox: mb, State: StateRemoved})
	return nil
}

// nextRun says when a mailbox runs again after a pass ended with err,
// counted from now (the pass's end) and spread by jitter; e.mu is held.
func (e *Engine) nextRun(key string, err error) time.Time {
	now := time.Now()
	st := e.statuses[key]
	interval := e.cfg.Schedule.Interval
	switch {
	case errors.Is(err, ErrLeaseLost):
		// Another worker holds it: ask again soon, so that a takeover
		// after that worker died happens within LeaseTTL and a few seconds.
		return now.Add(jitter(min(interval, leaseRetry)))
	case err == nil, errors.Is(err, context.Canceled):
		return now.Add(jitter(interval))
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		return now.Add(jitter(24 * time.Hour))
	case errors.Is(err, m365link.ErrReconnectRequired):
		return now.Add(jitter(5 * time.Minute))
	case onlyFolderWaits(err):
		// The degraded or backing-off folder waits by itself; the
		// mailbox's other folders carry on at their interval.
		return now.Add(jitter(interval))
	case errors.Is(err, m365link.ErrThrottled) && st.ThrottledUntil.After(now):
		return st.ThrottledUntil
	}
	return now.Add(jitter(max(interval, time.Minute)))
}

// Trigger makes a mailbox Run syncs pass again as soon as a worker is
// free, e.g. when a change notification arrived for it; a pass in flight
// is followed by another.
func (e *Engine) Trigger(mb m365link.Mailbox) {
	if mb.TenantID == "" {
		mb.TenantID = e.cfg.TenantID
	}
	k := mb.Key()
	e.mu.Lock()
	if en := e.sched.entries[k]; en != nil && !en.dropped {
		if en.running != nil {
			en.again = true
		} else {
			e.sched.queue(en, classTriggered, time.Now())
		}
	}
	e.mu.Unlock()
	e.poke()
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// onlyFolderWaits reports whether err is made only of folders that this
// pass left alone on purpose (degraded, or backing off after failures).
func onlyFolderWaits(err error) bool {
	var fe *FolderError
	if j, ok := errors.Unwrap(err).(interface{ Unwrap() []error }); ok && errors.As(err, &fe) {
		for _, e := range j.Unwrap() {
			if !errors.Is(e, ErrDegraded) && !errors.Is(e, ErrFolderBackoff) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, ErrDegraded)
}
