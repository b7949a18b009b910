package m365linktest

import (
	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
)

// MeetingMessage is a meeting request, update or cancellation a mailbox
// sent as organizer: the fake records them instead of delivering them.
type MeetingMessage struct {
	// Kind is "request", "update" or "cancel".
	Kind    string
	EventID string
	Subject string
	To      []m365link.EmailAddress
	// Comment is a cancellation's message to the attendees.
	Comment string
}

// MeetingMessages returns the meeting messages a mailbox sent, oldest
// first: what a host's test asserts to check who was invited, updated or
// told of a cancellation, and that nobody was told twice.
func (t *Tenant) MeetingMessages(mailbox string) []MeetingMessage {
	var out []MeetingMessage
	for _, m := range t.graph.MeetingMessages(mailbox) {
		out = append(out, MeetingMessage{Kind: m.Kind, EventID: m.EventID, Subject: m.Subject, To: emailAddresses(m.To), Comment: m.Comment})
	}
	return out
}

// SetTeamsAvailable says whether a mailbox can create Teams meetings (by
// default it can). Without Teams, its calendar allows no online meeting
// provider and Graph makes online meeting requests as plain meetings.
func (t *Tenant) SetTeamsAvailable(mailbox string, available bool) {
	mode := fakegraph.OnlineMeetingsTeams
	if !available {
		mode = fakegraph.OnlineMeetingsUnavailable
	}
	t.graph.SetOnlineMeetings(mailbox, mode)
}
