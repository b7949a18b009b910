package sync

import (
	"context"
	"errors"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/m365link/m365link"
)

// Run syncs the policy's mailboxes until ctx ends: it re-reads the policy
// every PolicyInterval (new mailboxes start, removed ones stop and the sink
// is told), runs up to Workers mailboxes at once, each again Interval after
// its last pass, and backs off per mailbox by what went wrong: Retry-After
// when throttled, a day when the user has no mailbox, a few minutes when
// the account must reconnect, the resync window when degraded. One
// mailbox's trouble never holds up the others. Run returns ctx's error
// after the passes in flight have stopped.
func (e *Engine) Run(ctx context.Context) error {
	var wg gosync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, e.cfg.Workers)
	known := map[string]m365link.Mailbox{}
	var nextPolicy time.Time
	for {
		now := time.Now()
		e.mu.Lock()
		if e.repolicy {
			e.repolicy, nextPolicy = false, time.Time{}
		}
		e.mu.Unlock()
		if !now.Before(nextPolicy) {
			nextPolicy = now.Add(e.cfg.PolicyInterval)
			if mbs, err := e.Mailboxes(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				e.log.LogAttrs(ctx, slog.LevelWarn, "sync: read policy", slog.String("error", err.Error()))
				nextPolicy = now.Add(min(time.Minute, e.cfg.PolicyInterval))
			} else {
				e.applyPolicy(ctx, known, mbs)
			}
		}
		e.mu.Lock()
		for k, mb := range known {
			if e.running[k] || e.due[k].After(now) {
				continue
			}
			select {
			case slots <- struct{}{}:
			default:
				continue
			}
			e.running[k] = true
			wg.Go(func() {
				defer func() { <-slots }()
				err := e.SyncOnce(ctx, mb)
				e.mu.Lock()
				e.running[k] = false
				e.due[k] = e.nextRun(k, err)
				e.mu.Unlock()
				e.poke()
			})
		}
		wake := nextPolicy
		for k := range known {
			if !e.running[k] && e.due[k].Before(wake) {
				wake = e.due[k]
			}
		}
		e.mu.Unlock()
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

// applyPolicy starts new mailboxes and removes those the policy dropped.
func (e *Engine) applyPolicy(ctx context.Context, known map[string]m365link.Mailbox, mbs []m365link.Mailbox) {
	current := make(map[string]m365link.Mailbox, len(mbs))
	for _, mb := range mbs {
		current[mb.Key()] = mb
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, mb := range known {
		if _, ok := current[k]; ok || e.running[k] {
			continue
		}
		delete(known, k)
		delete(e.due, k)
		if err := e.cfg.Sink.MailboxRemoved(ctx, mb); err != nil {
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: sink refused a removal", slog.String("mailbox", k), slog.String("error", err.Error()))
		}
		_ = e.cfg.State.DeleteMailbox(ctx, k)
		e.statuses[k] = Status{Mailbox: mb, State: StateRemoved}
	}
	for k, mb := range current {
		if _, ok := known[k]; !ok {
			known[k] = mb
			e.due[k] = time.Time{}
		}
	}
}

// nextRun says when a mailbox runs again after a pass ended with err.
func (e *Engine) nextRun(key string, err error) time.Time {
	now := time.Now()
	st := e.statuses[key]
	switch {
	case err == nil, errors.Is(err, ErrLeaseLost):
		return now.Add(e.cfg.Interval)
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		return now.Add(24 * time.Hour)
	case errors.Is(err, m365link.ErrReconnectRequired):
		return now.Add(5 * time.Minute)
	case errors.Is(err, ErrDegraded):
		return now.Add(e.cfg.ResyncWindow)
	case errors.Is(err, m365link.ErrThrottled) && st.ThrottledUntil.After(now):
		return st.ThrottledUntil
	}
	return now.Add(max(e.cfg.Interval, time.Minute))
}

// Trigger makes a mailbox sync as soon as a worker is free, e.g. when a
// change notification arrived for it.
func (e *Engine) Trigger(mb m365link.Mailbox) {
	if mb.TenantID == "" {
		mb.TenantID = e.cfg.TenantID
	}
	e.mu.Lock()
	if _, ok := e.due[mb.Key()]; ok {
		e.due[mb.Key()] = time.Time{}
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
