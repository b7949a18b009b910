package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
)

// The meeting goes in the first slot both internal attendees are free, and
// a second run books nothing more.
func TestBookOnFake(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.Generate(m365linktest.Spec{Mailboxes: 2, Seed: 1})
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC) // a Monday
	// Bob is busy on Tuesday morning from 08:00 to 10:00.
	tenant.AddEvent("bob@contoso.com", m365link.Event{Subject: "Busy", Start: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC),
		End: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), ShowAs: "busy"})
	r := request{Organizer: "alice@contoso.com", With: "bob@contoso.com", Vendor: "ann@acme.example", Subject: "Supply contract",
		TZ: "UTC", Length: 45 * time.Minute, Days: 3, Teams: true}
	var out strings.Builder
	ev, err := book(context.Background(), tenant.Graph(), tenant.AppToken(), r, now, &out)
	require.NoError(t, err)
	assert.False(t, ev.Start.Before(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)), "not while bob is busy: %s", ev.Start)
	assert.Equal(t, 45*time.Minute, ev.End.Sub(ev.Start))
	assert.NotEmpty(t, ev.JoinURL)
	assert.True(t, strings.HasPrefix(out.String(), `booked "Supply contract" in alice@contoso.com's calendar: Tue 2026-11-24 `), out.String())
	assert.Contains(t, out.String(), "  invited: bob@contoso.com, ann@acme.example\n")

	again, err := book(context.Background(), tenant.Graph(), tenant.AppToken(), r, now, &out)
	require.NoError(t, err)
	assert.Equal(t, ev.ID, again.ID, "the key finds the first booking")
	msgs := tenant.MeetingMessages("alice@contoso.com")
	require.Len(t, msgs, 1, "one invitation")
	assert.Equal(t, "request", msgs[0].Kind)
}

func TestBookNeedsItsFields(t *testing.T) {
	_, err := book(context.Background(), nil, nil, request{Organizer: "a@b"}, time.Now(), nil)
	assert.EqualError(t, err, "-organizer and -vendor are required")
	_, err = book(context.Background(), nil, nil, request{Organizer: "a@b", Vendor: "v@x", TZ: "Mars/Olympus"}, time.Now(), nil)
	assert.ErrorContains(t, err, "-tz: ")
	_, _, err = fromEnv(func(string) string { return "" })
	assert.EqualError(t, err, "set M365LINK_TENANT_ID, M365LINK_CLIENT_ID and M365LINK_CLIENT_SECRET (or run with -fake)")
}
