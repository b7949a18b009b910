package sync_test

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// crashKindSink fails the n-th ApplyEvents or ApplyContacts call after it
// applied: the page is in the sink, the cursor past it is not saved.
type crashKindSink struct {
	*m365sync.MemorySink
	mu     gosync.Mutex
	calls  int
	failAt int
}

func (s *crashKindSink) hit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.calls == s.failAt
}

func (s *crashKindSink) ApplyEvents(ctx context.Context, p *m365sync.EventPage) error {
	fail := s.hit()
	if err := s.MemorySink.ApplyEvents(ctx, p); err != nil {
		return err
	}
	if fail {
		return errInjected
	}
	return nil
}

func (s *crashKindSink) ApplyContacts(ctx context.Context, p *m365sync.ContactPage) error {
	fail := s.hit()
	if err := s.MemorySink.ApplyContacts(ctx, p); err != nil {
		return err
	}
	if fail {
		return errInjected
	}
	return nil
}

// Kill points inside calendar and contacts rounds — after each page of a
// first round and of a resync, in the sink or right after a cursor save —
// then items the killed round delivered are deleted at Graph and a new one
// added before the restart. Two clean passes later the sink equals Graph:
// no ghost, nothing lost.
func TestKilledCalendarAndContactRoundsLeaveNoGhosts(t *testing.T) {
	const items = 35 // four pages of 10
	type kind struct {
		name   string
		route  string
		config func(cfg *m365sync.Config, sink *m365sync.MemorySink)
		add    func(h *harness, n int) string
		del    func(h *harness, id string)
		held   func(sink *m365sync.MemorySink, h *harness) []string
	}
	start := time.Now().UTC().Truncate(time.Hour)
	kinds := []kind{
		{name: "calendar", route: "calendarView/delta",
			config: func(cfg *m365sync.Config, sink *m365sync.MemorySink) { cfg.Calendar.Sink = sink },
			add: func(h *harness, n int) string {
				s := start.Add(time.Duration(n) * time.Hour)
				return h.fg.AddEvent(h.mailbox(0).UserID, fakegraph.Event{Subject: fmt.Sprint("meeting ", n), Start: s, End: s.Add(30 * time.Minute)}).ID
			},
			del:  func(h *harness, id string) { h.fg.DeleteEvent(h.mailbox(0).UserID, id) },
			held: func(sink *m365sync.MemorySink, h *harness) []string { return sink.EventIDs(h.mailbox(0)) }},
		{name: "contacts", route: "contacts/delta",
			config: func(cfg *m365sync.Config, sink *m365sync.MemorySink) { cfg.Contacts.Sink = sink },
			add: func(h *harness, n int) string {
				return h.fg.AddContact(h.mailbox(0).UserID, fakegraph.Contact{DisplayName: fmt.Sprint("contact ", n)}).ID
			},
			del:  func(h *harness, id string) { h.fg.DeleteContact(h.mailbox(0).UserID, id) },
			held: func(sink *m365sync.MemorySink, h *harness) []string { return sink.ContactIDs(h.mailbox(0)) }},
	}
	for _, k := range kinds {
		for _, resync := range []bool{false, true} {
			for _, inState := range []bool{false, true} {
				for n := 1; n <= 4; n++ {
					name := fmt.Sprintf("%s/resync=%v/state=%v/killed at page %d", k.name, resync, inState, n)
					t.Run(name, func(t *testing.T) {
						h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, Vendors: 1, Seed: 9})
						mb := h.mailbox(0)
						var live []string
						for i := range items {
							live = append(live, k.add(h, i))
						}
						sink := &m365sync.MemorySink{}
						cfg := h.config(nil, nil)
						cfg.Sink = nil
						k.config(&cfg, sink)
						if resync {
							require.NoError(t, h.engine(t, cfg).SyncOnce(context.Background(), mb))
							h.fg.Inject(fakegraph.Fault{Kind: fakegraph.SyncReset410, Route: k.route, Mailbox: mb.UserID, Times: 1})
						}
						crashing := cfg
						if inState {
							// Cursor saves: the generation's first, then one per page.
							crashing.State = &crashState{StateStore: h.state, failAt: n + 1}
						} else {
							crashing.Sink = nil
							k.config(&crashing, nil)
							cs := &crashKindSink{MemorySink: sink, failAt: n}
							if k.name == "calendar" {
								crashing.Calendar.Sink = cs
							} else {
								crashing.Contacts.Sink = cs
							}
						}
						require.ErrorIs(t, h.engine(t, crashing).SyncOnce(context.Background(), mb), errInjected)

						// Two items the killed round delivered go at Graph; one is new.
						held := k.held(sink, h)
						require.GreaterOrEqual(t, len(held), 2)
						gone := held[:2]
						for _, id := range gone {
							k.del(h, id)
						}
						live = slices.DeleteFunc(live, func(id string) bool { return slices.Contains(gone, id) })
						live = append(live, k.add(h, 100))

						e := h.engine(t, cfg)
						for range 2 {
							require.NoError(t, e.SyncOnce(context.Background(), mb))
						}
						assert.Equal(t, sorted(live...), k.held(sink, h))
					})
				}
			}
		}
	}
}
