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
// It runs up to Workers passes at once, each mailbox again Interval after
// its last pass (or at once after [Engine.Trigger]), and backs off per
// mailbox by what went wrong: Retry-After when throttled, a day when the
// user has no mailbox, a few minutes when the account must reconnect (or
// at once after [Engine.Trigger], e.g. when the user reconnected). A
// degraded or failing folder waits on its own while the mailbox's other
// folders keep their Interval. One mailbox's trouble never holds up the
// others. Run returns ctx's error after the passes in flight have stopped;
// it returns [ErrRunning] if called while it runs.
func (e *Engine) Run(ctx context.Context) error {
	if !e.inRun.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.inRun.Store(false)
	var wg gosync.WaitGroup
	defer wg.Wait()
	r := &runner{e: e, wg: &wg, slots: make(chan struct{}, e.cfg.Schedule.Workers), first: true}
	for {
		if err := r.refreshPolicy(ctx); err != nil {
			return err
		}
		wake := r.dispatch(ctx)
		t := time.NewTimer(max(time.Until(wake), time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-e.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// runner is one Run: its worker slots and when it next reads the policy.
// The schedule itself (which mailboxes, what runs, what is due) lives in
// the engine, guarded by e.mu, so that SetPolicy and Trigger reach it.
type runner struct {
	e          *Engine
	wg         *gosync.WaitGroup
	slots      chan struct{}
	nextPolicy time.Time
	first      bool
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
	return nil
}

// dispatch starts the removals and passes that are due, as far as worker
// slots allow, and returns when something next falls due.
func (r *runner) dispatch(ctx context.Context) (wake time.Time) {
	e, now := r.e, time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	ready := func(k string) bool { return e.running[k] == nil && !e.due[k].After(now) && e.slot(r.slots) }
	for k, mb := range e.dropped {
		if ready(k) {
			e.start(ctx, r.wg, r.slots, k, true, func(ctx context.Context) error { return e.remove(ctx, mb) })
		}
	}
	for k, mb := range e.known {
		if ready(k) {
			e.start(ctx, r.wg, r.slots, k, false, func(ctx context.Context) error { return e.SyncOnce(ctx, mb) })
		}
	}
	wake = r.nextPolicy
	for k, t := range e.due {
		if e.running[k] == nil && t.Before(wake) {
			wake = t
		}
	}
	return wake
}

// slot takes a worker slot if one is free.
func (e *Engine) slot(slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// start runs job, a pass or a removal, for mailbox key in a worker; e.mu
// is held.
func (e *Engine) start(ctx context.Context, wg *gosync.WaitGroup, slots chan struct{}, key string, removal bool, job func(context.Context) error) {
	jctx, cancel := context.WithCancel(ctx)
	e.running[key] = cancel
	wg.Go(func() {
		defer func() { <-slots }()
		err := job(jctx)
		cancel()
		e.mu.Lock()
		delete(e.running, key)
		_, known := e.known[key]
		_, dropped := e.dropped[key]
		switch {
		case known && e.again[key]:
			e.due[key] = time.Time{}
		case known:
			e.due[key] = e.nextRun(key, err)
		case dropped && removal:
			e.due[key] = time.Now().Add(e.cfg.Schedule.Interval) // the removal failed: try again
		case dropped:
			e.due[key] = time.Time{} // a pass the policy change cancelled: remove at once
		default:
			delete(e.due, key)
		}
		delete(e.again, key)
		e.mu.Unlock()
		e.poke()
	})
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
	for k, mb := range e.known {
		if _, ok := current[k]; ok {
			continue
		}
		delete(e.known, k)
		e.dropped[k], e.due[k] = mb, time.Time{}
		if cancel := e.running[k]; cancel != nil {
			cancel()
		}
	}
	for _, mb := range stale {
		e.dropped[mb.Key()], e.due[mb.Key()] = mb, time.Time{}
	}
	for k, mb := range current {
		if _, ok := e.known[k]; !ok {
			e.due[k] = time.Time{}
		}
		e.known[k] = mb
		delete(e.dropped, k)
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
	e.mu.Lock()
	if _, ok := e.dropped[k]; ok {
		delete(e.dropped, k)
		delete(e.due, k)
	}
	e.mu.Unlock()
	e.publish(Status{Mailbox: mb, State: StateRemoved})
	return nil
}

// nextRun says when a mailbox runs again after a pass ended with err; e.mu is held.
func (e *Engine) nextRun(key string, err error) time.Time {
	now := time.Now()
	st := e.statuses[key]
	switch {
	case err == nil, errors.Is(err, ErrLeaseLost), errors.Is(err, context.Canceled):
		return now.Add(e.cfg.Schedule.Interval)
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		return now.Add(24 * time.Hour)
	case errors.Is(err, m365link.ErrReconnectRequired):
		return now.Add(5 * time.Minute)
	case onlyFolderWaits(err):
		// The degraded or backing-off folder waits by itself; the
		// mailbox's other folders carry on at their interval.
		return now.Add(e.cfg.Schedule.Interval)
	case errors.Is(err, m365link.ErrThrottled) && st.ThrottledUntil.After(now):
		return st.ThrottledUntil
	}
	return now.Add(max(e.cfg.Schedule.Interval, time.Minute))
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
	if _, ok := e.known[k]; ok {
		e.due[k] = time.Time{}
		if e.running[k] != nil {
			e.again[k] = true
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
