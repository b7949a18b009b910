package calendar

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/internal/tz"
)

// IANAZone returns the IANA zone for name, a Windows time-zone ID as
// Outlook uses them ("Pacific Standard Time", any case; CLDR's default
// zone for it, "America/Los_Angeles") or an IANA name the zone database
// knows (returned as CLDR spells it). "UTC" and "tzone://Microsoft/Utc"
// give "UTC". Custom zones ("tzone://Microsoft/Custom") give "", false.
//
// The mapping is CLDR's windowsZones.xml, embedded (internal/tz/README.md
// names the CLDR commit; Unicode licence).
func IANAZone(name string) (string, bool) { return tz.IANA(name) }

// WindowsZone returns the Windows time-zone ID for name, an IANA zone
// (any of CLDR's territory rows: "Europe/Paris" and "Europe/Madrid" both
// give "Romance Standard Time"; current names of zones CLDR spells the old
// way, such as "Asia/Kolkata", too) or a Windows ID, returned as CLDR
// spells it. Unknown names give "", false.
func WindowsZone(name string) (string, bool) { return tz.Windows(name) }

// LoadZone returns the *time.Location of a Windows or IANA zone name as
// [IANAZone] accepts it. It reads the host's zone database: a program for
// hosts without one imports time/tzdata.
func LoadZone(name string) (*time.Location, bool) { return tz.Location(name) }

// zone is a meeting's time zone resolved for the wire.
type zone struct {
	wire string         // the name sent as dateTimeTimeZone.timeZone
	loc  *time.Location // where the wall-clock times are read
}

// resolveZone picks the zone a meeting is sent in: name (Windows or IANA)
// when given, else the location of t. Graph takes every Windows ID but
// only a fixed list of IANA names (GRAPH.md), so the Windows ID is sent.
// A location with no Windows ID (time.Local, a fixed offset) gives UTC
// and false: the instants stay exact, but a series would keep UTC's wall
// clock across daylight saving time.
func resolveZone(name string, t time.Time) (zone, bool, error) {
	given := name != ""
	if !given {
		name = t.Location().String()
	}
	if strings.EqualFold(name, "UTC") {
		return zone{"UTC", time.UTC}, true, nil
	}
	w, okW := tz.Windows(name)
	loc, okL := tz.Location(name)
	switch {
	case okW && okL:
		return zone{w, loc}, true, nil
	case given:
		return zone{}, false, fmt.Errorf("unknown time zone %q", name)
	}
	return zone{"UTC", time.UTC}, false, nil
}

// wireTime renders t as Graph's dateTimeTimeZone in z.
func (z zone) wireTime(t time.Time) wireDTZ {
	return wireDTZ{DateTime: t.In(z.loc).Format("2006-01-02T15:04:05.0000000"), TimeZone: z.wire}
}

// wireDate renders the midnight that starts d in the zone, as written:
// not through time.Date in z.loc, which moves a midnight that falls in a
// daylight-saving gap (Santiago, Beirut, Cairo, Havana) to 23:00 the day
// before or 01:00, where Graph wants midnight for an all-day event.
func (z zone) wireDate(d m365link.Date) wireDTZ {
	return wireDTZ{DateTime: d.String() + "T00:00:00.0000000", TimeZone: z.wire}
}

// MailboxSettings are the settings of a mailbox that meetings depend on.
type MailboxSettings struct {
	// TimeZone is the mailbox's zone as Graph reports it: a Windows ID by
	// default, an IANA name where the admin set that up.
	TimeZone string
	// IANAZone is TimeZone as an IANA name; "" when it has none.
	IANAZone string
	// Location is TimeZone's location, nil when it has none or the host
	// has no zone database.
	Location *time.Location
	// WorkingHours are the user's working hours, nil when Graph gave none.
	WorkingHours *WorkingHours
	// DateFormat and TimeFormat are the user's formats ("M/d/yyyy",
	// "h:mm tt"); Locale is the language ("en-US").
	DateFormat, TimeFormat, Locale string
}

// MailboxSettings reads a mailbox's time zone, working hours and formats
// (MailboxSettings.Read). Send its TimeZone as [ScheduleOptions].TimeZone
// or [Meeting].TimeZone to work in the zone the user expects.
//
// Graph: GET /users/{id}/mailboxSettings.
func (c *Client) MailboxSettings(ctx context.Context, tok TokenSource, mailbox string) (*MailboxSettings, error) {
	var w struct {
		TimeZone     string            `json:"timeZone"`
		DateFormat   string            `json:"dateFormat"`
		TimeFormat   string            `json:"timeFormat"`
		WorkingHours *wireWorkingHours `json:"workingHours"`
		Language     *struct {
			Locale string `json:"locale"`
		} `json:"language"`
	}
	req := &graph.Request{Path: graph.Path("users", mailbox, "mailboxSettings"),
		Query: url.Values{"$select": {"timeZone,workingHours,dateFormat,timeFormat,language"}}}
	if err := c.call(ctx, tok, mailbox, req, &w); err != nil {
		return nil, classify("mailbox settings", mailbox, "", onMailbox, err)
	}
	out := &MailboxSettings{TimeZone: w.TimeZone, DateFormat: w.DateFormat, TimeFormat: w.TimeFormat}
	out.IANAZone, _ = tz.IANA(w.TimeZone)
	out.Location, _ = tz.Location(w.TimeZone)
	if w.Language != nil {
		out.Locale = w.Language.Locale
	}
	if w.WorkingHours != nil {
		wh, err := w.WorkingHours.vocab()
		if err != nil {
			return nil, &Error{Op: "mailbox settings", Mailbox: mailbox, Detail: "working hours", Err: err}
		}
		out.WorkingHours = wh
	}
	return out, nil
}
