package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/m365link/m365link"
)

// PassResult is what one pass of [Engine.RunOnce] did for a mailbox.
type PassResult struct {
	// Mailbox is the mailbox.
	Mailbox m365link.Mailbox
	// State is where it stands after the pass (see [Status]).
	State State
	// Pages and Items are what the pass fetched and handed to the sink.
	Pages, Items int
	// Requests are the HTTP attempts the pass sent, retries included.
	Requests int64
	// Duration is how long the pass took.
	Duration time.Duration
	// Err is the pass's error, typed as [Engine.SyncOnce] returns it.
	Err error
}

// RunOnce runs one pass over every mailbox the policy selects — Workers
// at a time — and returns what each did, ordered by mailbox key: for cron
// jobs, command-line tools and tests, where [Engine.Run] would run on. It
// returns an error only when the policy cannot be read or ctx ends; a
// mailbox's failure is in its PassResult. When ctx ends first, the
// mailboxes already started are reported with ctx's error. Unlike Run it
// removes nothing the policy dropped.
func (e *Engine) RunOnce(ctx context.Context) ([]PassResult, error) {
	mbs, err := e.Mailboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync: read policy: %w", err)
	}
	out := make([]PassResult, len(mbs))
	each(ctx, len(mbs), e.cfg.Schedule.Workers, func(i int) { out[i] = e.passOver(ctx, mbs[i]) })
	// Mailboxes never started (ctx ended first) are left out.
	out = slices.DeleteFunc(out, func(r PassResult) bool { return r.Mailbox.UserID == "" })
	slices.SortFunc(out, func(a, b PassResult) int { return strings.Compare(a.Mailbox.Key(), b.Mailbox.Key()) })
	return out, ctx.Err()
}
