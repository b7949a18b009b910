package matchsync

import (
	"context"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	m365sync "github.com/m365link/m365link/sync"
)

// MatchedSink is what a host implements to receive synced mail with its
// vendors: the page as the sync engine delivers it, and one Result per
// upserted message (results[i] is for p.Upserts[i]).
type MatchedSink interface {
	// ApplyMatched commits a page as [m365sync.Sink.Apply] does, storing
	// each upserted message's vendors with it.
	ApplyMatched(ctx context.Context, p *m365sync.Page, results []match.Result) error
	// Reset is [m365sync.Sink.Reset].
	Reset(ctx context.Context, r m365sync.Reset) error
	// MailboxRemoved is [m365sync.Sink.MailboxRemoved].
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// Sink decorates a host's sink: engine → matcher → host. It matches every
// upserted message of a page at once ([match.Matcher.MatchMessages]: one
// directory lookup a page) and hands page and results on together, so the
// host stores both in one transaction. A lookup error fails the page, and
// the engine retries it: no message is stored without its vendors.
func Sink(m *match.Matcher, next MatchedSink) m365sync.Sink { return &sink{m: m, next: next} }

type sink struct {
	m    *match.Matcher
	next MatchedSink
}

// Apply matches the page's upserted messages and hands page and results on.
func (s *sink) Apply(ctx context.Context, p *m365sync.Page) error {
	results, err := s.m.MatchMessages(ctx, p.Upserts)
	if err != nil {
		return err
	}
	return s.next.ApplyMatched(ctx, p, results)
}

// Reset hands the reset on.
func (s *sink) Reset(ctx context.Context, r m365sync.Reset) error { return s.next.Reset(ctx, r) }

// MailboxRemoved hands the removal on.
func (s *sink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return s.next.MailboxRemoved(ctx, mb)
}
