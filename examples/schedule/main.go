// Command schedule books a meeting with a vendor at the first slot when
// every internal attendee is free, with package calendar: it reads the
// internal attendees' schedules (a vendor's are not readable: they are
// invited to the slot), picks the first free slot in working hours and
// creates the meeting, a Teams meeting on request. The create carries an
// idempotency key, so running the command again books nothing more.
//
//	M365LINK_TENANT_ID=… M365LINK_CLIENT_ID=… M365LINK_CLIENT_SECRET=… \
//	go run ./examples/schedule -organizer alice@contoso.com -with bob@contoso.com \
//	    -vendor ann@acme.example -subject "Supply contract" -length 45m -teams
//
// Configuration, by environment variable and flag:
//
//	M365LINK_TENANT_ID      the tenant (app-only: application permission Calendars.ReadWrite)
//	M365LINK_CLIENT_ID      the app registration's application (client) ID
//	M365LINK_CLIENT_SECRET  a client secret of it
//	M365LINK_CLOUD          global (default), usgov-l4, usgov-l5 or china
//	M365LINK_MAILBOX        -organizer: whose calendar the meeting goes in
//	-with                   other internal attendees, comma-separated
//	-vendor                 the vendor contacts to invite, comma-separated
//	-subject, -length, -days, -tz, -teams, -key: see -help
//
// With -fake it books on the in-process fake tenant of package m365linktest.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/tokens"
)

// request is the meeting to book.
type request struct {
	Organizer, With, Vendor, Subject, TZ, Key string
	Length                                    time.Duration
	Days                                      int
	Teams                                     bool
}

func (r request) key() string {
	if r.Key != "" {
		return r.Key
	}
	h := sha256.Sum256([]byte(strings.Join([]string{r.Organizer, r.With, r.Vendor, r.Subject}, "\x00")))
	return "schedule-example/" + hex.EncodeToString(h[:12])
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func main() {
	var r request
	flag.StringVar(&r.Organizer, "organizer", os.Getenv("M365LINK_MAILBOX"), "the organizer's mailbox (default $M365LINK_MAILBOX)")
	flag.StringVar(&r.With, "with", "", "other internal attendees, comma-separated")
	flag.StringVar(&r.Vendor, "vendor", "", "vendor contacts to invite, comma-separated")
	flag.StringVar(&r.Subject, "subject", "Meeting", "subject")
	flag.DurationVar(&r.Length, "length", 30*time.Minute, "length of the meeting")
	flag.IntVar(&r.Days, "days", 5, "how many days ahead to look, from tomorrow")
	flag.StringVar(&r.TZ, "tz", "UTC", "time zone to plan in (IANA name)")
	flag.BoolVar(&r.Teams, "teams", false, "make it a Teams meeting")
	flag.StringVar(&r.Key, "key", "", "idempotency key (default: a digest of the request)")
	fake := flag.Bool("fake", false, "book on an in-process fake tenant")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var (
		gc  *graphclient.Client
		tok calendar.TokenSource
	)
	if *fake {
		t := m365linktest.Start()
		defer t.Close()
		t.Generate(m365linktest.Spec{Mailboxes: 2, EventsPerMailbox: 10, Vendors: 2, Seed: 1})
		gc, tok = t.Graph(), t.AppToken()
		if r.Organizer == "" {
			r.Organizer, r.With = "alice@contoso.com", "bob@contoso.com"
		}
		if r.Vendor == "" {
			r.Vendor = "ann@acme.example"
		}
	} else {
		var err error
		if gc, tok, err = fromEnv(os.Getenv); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := book(ctx, gc, tok, r, time.Now(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// fromEnv makes the Graph client and the app-only token of the tenant the
// environment names.
func fromEnv(getenv func(string) string) (*graphclient.Client, calendar.TokenSource, error) {
	tenant, clientID, secret := getenv("M365LINK_TENANT_ID"), getenv("M365LINK_CLIENT_ID"), getenv("M365LINK_CLIENT_SECRET")
	if tenant == "" || clientID == "" || secret == "" {
		return nil, nil, errors.New("set M365LINK_TENANT_ID, M365LINK_CLIENT_ID and M365LINK_CLIENT_SECRET (or run with -fake)")
	}
	cloud, ok := m365link.CloudNamed(getenv("M365LINK_CLOUD"))
	if !ok {
		return nil, nil, fmt.Errorf("M365LINK_CLOUD=%q: want global, usgov-l4, usgov-l5 or china", getenv("M365LINK_CLOUD"))
	}
	cred, err := tokens.ClientSecret(secret)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Cloud: cloud, Store: &tokens.Memory{}})
	if err != nil {
		return nil, nil, err
	}
	gc, err := graphclient.New(graphclient.Config{Cloud: cloud})
	if err != nil {
		return nil, nil, err
	}
	return gc, mgr.Source(m365link.Account{TenantID: tenant}), nil
}

// book finds the first common free slot from the day after now and books
// the meeting there.
func book(ctx context.Context, gc *graphclient.Client, tok calendar.TokenSource, r request, now time.Time, out io.Writer) (*calendar.Event, error) {
	if r.Organizer == "" || r.Vendor == "" {
		return nil, errors.New("-organizer and -vendor are required")
	}
	loc, err := time.LoadLocation(r.TZ)
	if err != nil {
		return nil, fmt.Errorf("-tz: %w", err)
	}
	cal, err := calendar.New(calendar.Config{Client: gc})
	if err != nil {
		return nil, err
	}
	internal := append([]string{r.Organizer}, list(r.With)...)
	y, m, d := now.In(loc).Date()
	start := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	window := calendar.TimeRange{Start: start, End: start.AddDate(0, 0, max(r.Days, 1))}
	slots, err := cal.CommonFreeSlots(ctx, tok, r.Organizer, internal, window,
		calendar.SlotOptions{Length: r.Length, Step: 30 * time.Minute, WorkingHoursOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reading the schedules of %s: %w", strings.Join(internal, ", "), err)
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("no common free slot of %s for %s between %s and %s", r.Length, strings.Join(internal, ", "),
			window.Start.Format(time.DateOnly), window.End.Format(time.DateOnly))
	}
	slot := slots[0]
	meeting := &calendar.Meeting{Subject: r.Subject, Start: slot.Start, End: slot.Start.Add(r.Length), TimeZone: r.TZ, Teams: r.Teams}
	for _, a := range list(r.With) {
		meeting.Attendees = append(meeting.Attendees, m365link.Attendee{EmailAddress: m365link.EmailAddress{Address: a}})
	}
	for _, a := range list(r.Vendor) {
		meeting.Attendees = append(meeting.Attendees, m365link.Attendee{EmailAddress: m365link.EmailAddress{Address: a}})
	}
	ev, err := cal.Create(ctx, tok, r.Organizer, meeting, &calendar.CreateOptions{Key: r.key()})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "booked %q in %s's calendar: %s to %s (%s), %d free slots found\n", r.Subject, r.Organizer,
		ev.Start.In(loc).Format("Mon 2006-01-02 15:04"), ev.End.In(loc).Format("15:04"), r.TZ, len(slots))
	fmt.Fprintf(out, "  invited: %s\n  key:     %s\n", strings.Join(append(list(r.With), list(r.Vendor)...), ", "), r.key())
	if ev.JoinURL != "" {
		fmt.Fprintf(out, "  Teams:   %s\n", ev.JoinURL)
	}
	return ev, nil
}
