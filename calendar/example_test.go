package calendar_test

import (
	"context"
	"fmt"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/m365linktest"
)

// Book a Teams meeting with a vendor contact at the first hour Alice and
// her colleague Bob are both free.
func Example() {
	tenant := m365linktest.Start() // stands in for Microsoft 365; a test calls m365linktest.New(t)
	defer tenant.Close()
	alice := tenant.AddUser(m365linktest.User{DisplayName: "Alice Smith"})
	bob := tenant.AddUser(m365linktest.User{DisplayName: "Bob Jones"})
	day := time.Date(2030, 3, 4, 0, 0, 0, 0, time.UTC) // a Monday
	tenant.AddEvent(alice.ID, m365link.Event{Subject: "Team sync", Start: day.Add(8 * time.Hour), End: day.Add(10*time.Hour + 30*time.Minute)})
	tenant.AddEvent(bob.ID, m365link.Event{Subject: "Interview", Start: day.Add(10*time.Hour + 30*time.Minute), End: day.Add(11 * time.Hour)})

	cal, err := calendar.New(calendar.Config{Client: tenant.Graph()}) // the process's one Graph client
	if err != nil {
		panic(err)
	}
	ctx, tok := context.Background(), tenant.AppToken() // a tokens.Manager's source
	settings, err := cal.MailboxSettings(ctx, tok, alice.ID)
	if err != nil {
		panic(err)
	}
	window := calendar.TimeRange{Start: day.In(settings.Location), End: day.AddDate(0, 0, 1).In(settings.Location)}
	slots, err := cal.CommonFreeSlots(ctx, tok, alice.ID, []string{alice.UPN, bob.UPN}, window,
		calendar.SlotOptions{Length: time.Hour, Step: 30 * time.Minute, WorkingHoursOnly: true})
	if err != nil {
		panic(err)
	}
	first := slots[0].Start
	vendor := m365link.EmailAddress{Name: "Vera Vendor", Address: "vera@acme.example"}
	ev, err := cal.Create(ctx, tok, alice.ID, &calendar.Meeting{
		Subject:  "Contract renewal with Acme",
		Start:    first,
		End:      first.Add(time.Hour),
		TimeZone: settings.TimeZone,
		Attendees: []m365link.Attendee{
			{EmailAddress: vendor},
			{EmailAddress: m365link.EmailAddress{Name: bob.DisplayName, Address: bob.UPN}, Type: m365link.AttendeeOptional},
		},
		Teams: true,
	}, &calendar.CreateOptions{Key: "acme-renewal-2030"}) // the host's booking ID: a retry never books twice
	if err != nil {
		panic(err)
	}
	fmt.Println("free:", slots[0].Start.Format("15:04"), "to", slots[0].End.Format("15:04"), settings.TimeZone)
	fmt.Println("booked:", ev.Subject, ev.Start.Format("Mon 2 Jan 15:04"), "to", ev.End.Format("15:04"))
	fmt.Println("Teams link:", ev.JoinURL != "")
	for _, m := range tenant.MeetingMessages(alice.ID) {
		fmt.Println(m.Kind, "sent to", m.To)
	}
	// Output:
	// free: 11:00 to 17:00 UTC
	// booked: Contract renewal with Acme Mon 4 Mar 11:00 to 12:00
	// Teams link: true
	// request sent to [Vera Vendor <vera@acme.example> Bob Jones <bob.jones@contoso.com>]
}
