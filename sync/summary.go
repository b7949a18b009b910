package sync

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is where the mailboxes [Engine.Run] syncs stand, in a few
// numbers: what a host logs and graphs when it syncs thousands (the
// per-mailbox detail is in [Engine.Statuses]). Run logs one at Info every
// Schedule.SummaryInterval; m365otel reports the same as metrics.
type Summary struct {
	// Mailboxes is how many mailboxes the policy selects (0 outside Run).
	Mailboxes int
	// Owned is, when Run shares the mailboxes through a [LeaseBalancer],
	// how many of them this worker owns; States, Unseen and the lags then
	// count only those (the others' owners report them). Without one it
	// is 0 and every mailbox counts.
	Owned int
	// States counts them by the state this engine last saw; Unseen are
	// those it has no status for yet: their first pass has not ended, or
	// another worker holds their lease.
	States map[State]int
	Unseen int
	// Running is how many passes and removals are in flight; Removing how
	// many mailboxes that left the policy wait for their removal.
	Running, Removing int
	// LagP50, LagP99 and LagMax are quantiles, over the mailboxes that
	// had one, of the time since their last successful pass.
	LagP50, LagP99, LagMax time.Duration
	// Passes are the passes over a mailbox that ran so far (SyncOnce, or
	// Run's), whatever their outcome; Counters the engine's other totals.
	Passes   int64
	Counters Counters
}

// Summary returns where the mailboxes Run syncs stand now. It costs a
// look at every mailbox: call it every few seconds at most.
func (e *Engine) Summary() Summary {
	now := time.Now()
	s := Summary{States: map[State]int{}, Passes: e.passes.Load(), Counters: e.Counters()}
	e.mu.Lock()
	lags := make([]time.Duration, 0, len(e.sched.entries))
	for k, en := range e.sched.entries {
		if en.running != nil {
			s.Running++
		}
		if en.dropped {
			s.Removing++
			continue
		}
		s.Mailboxes++
		if e.owned != nil {
			if _, mine := e.owned[k]; !mine {
				continue
			}
			s.Owned++
		}
		st, ok := e.statuses[k]
		if !ok {
			s.Unseen++
			continue
		}
		s.States[st.State]++
		if !st.LastSync.IsZero() {
			lags = append(lags, now.Sub(st.LastSync))
		}
	}
	e.mu.Unlock()
	if len(lags) > 0 {
		slices.Sort(lags)
		q := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
		s.LagP50, s.LagP99, s.LagMax = q(0.50), q(0.99), lags[len(lags)-1]
	}
	return s
}

// summarize logs the summary at Info with what happened since the last:
// passes, requests and 429s.
func (r *runner) summarize(ctx context.Context, now time.Time) {
	e := r.e
	r.nextSummary = now.Add(e.cfg.Schedule.SummaryInterval)
	if !e.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	s := e.Summary()
	states := make([]string, 0, len(s.States)+1)
	for st, n := range s.States {
		states = append(states, string(st)+"="+strconv.Itoa(n))
	}
	slices.Sort(states)
	if s.Unseen > 0 {
		states = append(states, "unseen="+strconv.Itoa(s.Unseen))
	}
	c := s.Counters
	attrs := []slog.Attr{slog.Int("mailboxes", s.Mailboxes), slog.String("states", strings.Join(states, " ")),
		slog.Int("running", s.Running), slog.Int("removing", s.Removing),
		slog.Int64("passes", s.Passes-r.lastPasses), slog.Int64("requests", c.Requests-r.last.Requests),
		slog.Int64("throttled", c.Throttled-r.last.Throttled), slog.Int64("items", c.Items-r.last.Items),
		slog.Duration("lag_p50", s.LagP50.Round(time.Millisecond)), slog.Duration("lag_p99", s.LagP99.Round(time.Millisecond)),
		slog.Duration("lag_max", s.LagMax.Round(time.Millisecond))}
	if r.balanced {
		attrs = append(attrs, slog.Int("owned", s.Owned))
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "sync: summary", attrs...)
	r.last, r.lastPasses = c, s.Passes
}
