package match

import (
	"context"

	"github.com/m365link/m365link"
)

// MatchEvents matches each event as [Matcher.MatchEvent] does (organizer
// and attendees), and returns their results in order (results[i] is for
// evs[i]), asking the directory once for all of them: the way to match a
// page of synced calendar events.
func (m *Matcher) MatchEvents(ctx context.Context, evs []m365link.Event) ([]Result, error) {
	w := m.get()
	defer m.put(w)
	for i := range evs {
		w.item()
		w.addEvent(&evs[i])
	}
	return m.runItems(ctx, w)
}
