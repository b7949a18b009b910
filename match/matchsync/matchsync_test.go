package matchsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

type recordingSink struct {
	pages   []*m365sync.Page
	results [][]match.Result
	resets  []m365sync.Reset
	removed []m365link.Mailbox
}

func (s *recordingSink) ApplyMatched(_ context.Context, p *m365sync.Page, r []match.Result) error {
	s.pages, s.results = append(s.pages, p), append(s.results, r)
	return nil
}
func (s *recordingSink) Reset(_ context.Context, r m365sync.Reset) error {
	s.resets = append(s.resets, r)
	return nil
}
func (s *recordingSink) MailboxRemoved(_ context.Context, mb m365link.Mailbox) error {
	s.removed = append(s.removed, mb)
	return nil
}

func TestSinkDecoratorAttachesMatches(t *testing.T) {
	dir, err := vendors.NewIndex([]vendors.Vendor{{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}}})
	require.NoError(t, err)
	m, err := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}, TrackedOnly: true})
	require.NoError(t, err)
	rec := &recordingSink{}
	var sink m365sync.Sink = matchsync.Sink(m, rec)
	p := &m365sync.Page{Upserts: []m365link.Message{
		{ID: "m1", From: m365link.EmailAddress{Address: "hank@globex.com"}},
		{ID: "m2", From: m365link.EmailAddress{Address: "alice@contoso.com"}},
	}, Removals: []m365sync.Removal{{ID: "m0", FolderID: "f"}}}
	require.NoError(t, sink.Apply(context.Background(), p))
	require.Len(t, rec.results, 1)
	assert.Same(t, p, rec.pages[0])
	assert.Equal(t, []string{"globex"}, rec.results[0][0].Vendors())
	assert.Empty(t, rec.results[0][1].Vendors())
	require.NoError(t, sink.Reset(context.Background(), m365sync.Reset{FolderID: "f", Phase: m365sync.ResetEnd, Generation: 2}))
	require.NoError(t, sink.MailboxRemoved(context.Background(), m365link.Mailbox{UserID: "u"}))
	assert.Equal(t, []m365sync.Reset{{FolderID: "f", Phase: m365sync.ResetEnd, Generation: 2}}, rec.resets)
	assert.Equal(t, []m365link.Mailbox{{UserID: "u"}}, rec.removed)
}
