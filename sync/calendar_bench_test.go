package sync_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// BenchmarkInitialCalendarSync measures a first calendar sync of 5,000
// events (pages of 1,000) from the in-process fake: events per second of
// wall time and per CPU-second of the whole process — the fake's rendering
// included, so the engine's own cost is lower — with allocations per event.
//
//	go test -run '^$' -bench InitialCalendarSync -benchmem ./sync/
func BenchmarkInitialCalendarSync(b *testing.B) {
	const n = 5000
	h := newHarness(b, fakegraph.SeedSpec{Mailboxes: 1, Vendors: 1, Seed: 11})
	mb := h.mailbox(0)
	start := time.Now().UTC().Truncate(time.Hour)
	alice := h.seed.Mailboxes[0].User
	for i := range n {
		s := start.Add(time.Duration(i%2000) * 3 * time.Hour)
		h.fg.AddEvent(mb.UserID, fakegraph.Event{Subject: fmt.Sprint("Vendor meeting ", i), Start: s, End: s.Add(time.Hour),
			Organizer:  fakegraph.Address{Name: alice.DisplayName, Address: alice.Mail},
			Attendees:  []fakegraph.Attendee{{Address: fakegraph.Address{Name: "Ann", Address: "ann@acme.co.uk"}, Response: "accepted"}},
			TimeZone:   "W. Europe Standard Time",
			Location:   "Room 1",
			Categories: []string{"Vendors"}, IsOnlineMeeting: i%2 == 0})
	}
	cfg := m365sync.WithTestPaging(h.config(nil, nil), 1000, 0)
	cfg.Sink = nil
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	for b.Loop() {
		sink := &m365sync.MemorySink{}
		cfg.State, cfg.Calendar.Sink = &m365sync.MemoryState{}, sink
		e, err := m365sync.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.SyncOnce(context.Background(), mb); err != nil {
			b.Fatal(err)
		}
		if got := len(sink.EventIDs(mb)); got != n {
			b.Fatalf("synced %d of %d events", got, n)
		}
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	events := float64(n) * float64(b.N)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(events/cpu.Seconds(), "events/CPU-s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/events, "allocs/event")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/events, "B/event")
}
