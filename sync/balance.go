package sync

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Sticky, balanced ownership: with a [LeaseBalancer], Run keeps the
// leases it takes (e.owned) instead of releasing them after each pass, and
// a balancer goroutine shares the policy's mailboxes among the live
// workers. Every beat it announces the worker (Heartbeat), renews what it
// owns when a third of the TTL has passed since the last renewal (one
// Renew), releases what it owns beyond its share that no pass holds, and,
// below its share, takes free mailboxes. Run's scheduler parks a mailbox
// the worker does not own: it runs passes only over its own.
//
// Safety does not rest on any of this: a lease is held only while
// unexpired, and a pass renews it (Acquire) as it starts and before every
// sink write, stopping with ErrLeaseLost when another worker holds it.

// balanceTimes are the balancer's periods for a lease TTL: beat, how
// often it heartbeats and claims or sheds mailboxes (TTL/15 within 1–5 s,
// so a dead worker's mailboxes are taken within a beat of their leases'
// expiry); live, how long a heartbeat counts (TTL/3, and at least three
// beats: a worker that missed several beats is counted out, and its
// leases, renewed every TTL/3, expire later still); renew, how often
// owned leases are renewed.
func balanceTimes(ttl time.Duration) (beat, live, renew time.Duration) {
	beat = min(max(ttl/15, time.Second), 5*time.Second)
	return beat, max(ttl/3, 3*beat), ttl / 3
}

// balancer is Run's side of a LeaseBalancer.
type balancer struct {
	e                 *Engine
	lb                LeaseBalancer
	beat, live, renew time.Duration
	renewed           time.Time // when owned leases were last renewed
}

// balance runs the balancer until ctx ends: a round at once, then every
// beat or when the policy changed (e.rebalance).
func (e *Engine) balance(ctx context.Context, lb LeaseBalancer) {
	b := &balancer{e: e, lb: lb, renewed: time.Now()}
	b.beat, b.live, b.renew = balanceTimes(e.cfg.Schedule.LeaseTTL)
	t := time.NewTicker(b.beat)
	defer t.Stop()
	for {
		b.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.rebalance:
		}
	}
}

// round is one beat: heartbeat, renew when due, shed or claim.
func (b *balancer) round(ctx context.Context) {
	e := b.e
	live, err := b.lb.Heartbeat(ctx, e.owner, b.live)
	if err != nil {
		b.warn(ctx, "sync: lease heartbeat", err)
		return // keep what we own: the leases stay until their TTL
	}
	if time.Since(b.renewed) >= b.renew {
		b.renewOwned(ctx)
	}
	shed, candidates, deficit := e.plan(max(live, 1))
	for _, k := range shed {
		if err := b.lb.Release(ctx, k, e.owner); err != nil {
			b.warn(ctx, "sync: release a lease beyond this worker's share", err)
		}
	}
	if len(shed) > 0 {
		e.log.LogAttrs(ctx, slog.LevelDebug, "sync: released leases beyond this worker's share",
			slog.Int("released", len(shed)), slog.Int("live_workers", live))
	}
	if deficit > 0 && len(candidates) > 0 {
		b.claim(ctx, candidates, deficit)
	}
}

func (b *balancer) warn(ctx context.Context, msg string, err error) {
	if ctx.Err() == nil {
		b.e.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("error", err.Error()))
	}
}

// renewOwned renews every owned lease in one call and forgets those the
// worker no longer holds.
func (b *balancer) renewOwned(ctx context.Context) {
	e, start := b.e, time.Now()
	keys := e.ownedKeys()
	if len(keys) == 0 {
		b.renewed = start
		return
	}
	held, err := b.lb.Renew(ctx, e.owner, keys, e.cfg.Schedule.LeaseTTL)
	if err != nil {
		b.warn(ctx, "sync: renew leases", err)
		return // again at the next beat
	}
	b.renewed = start
	if len(held) == len(keys) {
		return
	}
	still := make(map[string]struct{}, len(held))
	for _, k := range held {
		still[k] = struct{}{}
	}
	lost := 0
	e.mu.Lock()
	for _, k := range keys {
		if _, ok := still[k]; !ok && e.owned != nil {
			delete(e.owned, k)
			lost++
		}
	}
	e.mu.Unlock()
	e.log.LogAttrs(ctx, slog.LevelWarn, "sync: leases lost to other workers (not renewed in time)", slog.Int("lost", lost))
}

// claim takes up to n of the candidates that no worker holds, in random
// order so that workers claiming at once rarely contend.
func (b *balancer) claim(ctx context.Context, candidates []string, n int) {
	e := b.e
	heldKeys, err := b.lb.Held(ctx)
	if err != nil {
		b.warn(ctx, "sync: list held leases", err)
		return
	}
	held := make(map[string]struct{}, len(heldKeys))
	for _, k := range heldKeys {
		held[k] = struct{}{}
	}
	free := candidates[:0]
	for _, k := range candidates {
		if _, ok := held[k]; !ok {
			free = append(free, k)
		}
	}
	rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	taken := 0
	for _, k := range free {
		if taken == n {
			break
		}
		ok, err := b.lb.Acquire(ctx, k, e.owner, e.cfg.Schedule.LeaseTTL)
		if err != nil {
			b.warn(ctx, "sync: take a free lease", err)
			break
		}
		if !ok {
			continue // another worker was quicker
		}
		if e.adopt(k) {
			taken++
		} else if err := b.lb.Release(ctx, k, e.owner); err != nil {
			b.warn(ctx, "sync: release a lease", err)
		}
	}
	if taken > 0 {
		e.log.LogAttrs(ctx, slog.LevelDebug, "sync: took free mailboxes", slog.Int("taken", taken))
		e.poke()
	}
}

// plan decides, for live workers, which owned mailboxes to release (over
// the worker's share, none in a pass; and any the policy no longer has)
// and, under the share, how many to take and among which mailboxes (not
// owned, in the policy, no job running).
func (e *Engine) plan(live int) (shed, candidates []string, deficit int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t0 := time.Now()
	defer func() { e.schedNanos.Add(int64(time.Since(t0))) }()
	s := &e.sched
	n := 0
	for _, en := range s.entries {
		if !en.dropped {
			n++
		}
	}
	share := (n + live - 1) / live
	mine := 0
	for k := range e.owned {
		switch en := s.entries[k]; {
		case en == nil:
			// Removed from the schedule (remove() disowns what it
			// removes; this is a lease Run no longer has a use for).
			delete(e.owned, k)
			shed = append(shed, k)
		case !en.dropped:
			mine++
		}
	}
	if excess := mine - share; excess > 0 {
		for k := range e.owned {
			if excess == 0 {
				break
			}
			if en := s.entries[k]; !en.dropped && en.running == nil {
				delete(e.owned, k)
				shed = append(shed, k)
				mine--
				excess--
			}
		}
	}
	if deficit = share - mine; deficit > 0 {
		for k, en := range s.entries {
			if _, ok := e.owned[k]; !ok && !en.dropped && en.running == nil {
				candidates = append(candidates, k)
			}
		}
	}
	return shed, candidates, deficit
}

// adopt makes a freshly taken lease Run's and queues the mailbox's pass
// at once; false when the mailbox is no longer one to sync here.
func (e *Engine) adopt(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.sched.entries[key]
	if e.owned == nil || en == nil || en.dropped || en.running != nil {
		return false
	}
	e.owned[key] = struct{}{}
	e.sched.queue(en, passClass(en.passes), time.Now())
	return true
}

// owns reports whether Run keeps key's lease.
func (e *Engine) owns(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.owned[key]
	return ok
}

// disown forgets key's lease, reporting whether Run kept it.
func (e *Engine) disown(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.owned[key]
	delete(e.owned, key)
	return ok
}

func (e *Engine) ownedKeys() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := make([]string, 0, len(e.owned))
	for k := range e.owned {
		keys = append(keys, k)
	}
	return keys
}

// leave ends Run's ownership once its passes stopped: the leases go back
// and the worker leaves, so that the others take its mailboxes at once.
func (e *Engine) leave(ctx context.Context, lb LeaseBalancer) {
	e.mu.Lock()
	keys := make([]string, 0, len(e.owned))
	for k := range e.owned {
		keys = append(keys, k)
	}
	e.owned = nil
	e.mu.Unlock()
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := lb.Leave(lctx, e.owner, keys); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: release leases on stopping", slog.Int("leases", len(keys)),
			slog.String("error", err.Error()))
	}
}

// pokeBalancer asks Run's balancer for a round now (the policy changed).
func (e *Engine) pokeBalancer() {
	select {
	case e.rebalance <- struct{}{}:
	default:
	}
}
