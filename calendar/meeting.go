package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/m365link/m365link"
)

// wire validates m and renders it as the properties of a Graph event,
// with the zone name its times are in. Every property is present, so that
// two renderings compare property by property (see diff); empty ones are
// dropped from a create's body.
func (m *Meeting) wire(op, mailbox string) (map[string]any, string, error) {
	bad := func(format string, args ...any) (map[string]any, string, error) {
		return nil, "", invalid(op, mailbox, fmt.Sprintf(format, args...))
	}
	if len(m.Attendees) > MaxAttendees {
		return nil, "", &Error{Op: op, Mailbox: mailbox, Kind: ErrAttendeeLimit,
			Detail: fmt.Sprintf("%d attendees; Exchange Online takes at most %d", len(m.Attendees), MaxAttendees)}
	}
	out := map[string]any{"subject": m.Subject}
	body := wireBody{ContentType: "text", Content: m.Body}
	if m.BodyHTML {
		body.ContentType = "html"
	}
	out["body"] = body
	out["location"] = wireLocation{DisplayName: m.Location}
	attendees := make([]wireAttendeeOut, 0, len(m.Attendees))
	for i, a := range m.Attendees {
		typ := a.Type
		if typ == "" {
			typ = m365link.AttendeeRequired
		}
		if typ != m365link.AttendeeRequired && typ != m365link.AttendeeOptional && typ != m365link.AttendeeResource {
			return bad("attendee %d has type %q", i, a.Type)
		}
		if !strings.Contains(a.Address, "@") {
			return bad("attendee %d has no address", i)
		}
		attendees = append(attendees, wireAttendeeOut{Type: string(typ), EmailAddress: wireEmail{Name: a.Name, Address: a.Address}})
	}
	out["attendees"] = attendees
	cats := m.Categories
	if cats == nil {
		cats = []string{}
	}
	out["categories"] = cats
	out["sensitivity"] = string(orDefault(m.Sensitivity, Normal))
	out["showAs"] = string(orDefault(m.ShowAs, Busy))
	switch {
	case m.NoReminder:
		out["isReminderOn"] = false
	case m.Reminder < 0:
		return bad("negative reminder")
	case m.Reminder > 0:
		out["isReminderOn"] = true
		out["reminderMinutesBeforeStart"] = int(m.Reminder / time.Minute)
	}
	if m.Teams {
		out["isOnlineMeeting"] = true
		out["onlineMeetingProvider"] = "teamsForBusiness"
	}

	var z zone
	var first m365link.Date
	if m.AllDay {
		var err error
		if z, _, err = resolveZone(orDefault(m.TimeZone, "UTC"), time.Time{}); err != nil {
			return bad("%v", err)
		}
		if m.StartDate.IsZero() {
			return bad("an all-day meeting needs a StartDate")
		}
		end := m.EndDate
		if end.IsZero() {
			end = m365link.DateOf(m.StartDate.In(time.UTC).AddDate(0, 0, 1))
		}
		if !m.StartDate.In(time.UTC).Before(end.In(time.UTC)) {
			return bad("EndDate %s is not after StartDate %s", end, m.StartDate)
		}
		out["start"], out["end"] = z.wireDate(m.StartDate), z.wireDate(end)
		first = m.StartDate
	} else {
		if m.Start.IsZero() || m.End.IsZero() {
			return bad("a meeting needs a Start and an End")
		}
		if m.End.Before(m.Start) {
			return bad("End %s is before Start %s", m.End, m.Start)
		}
		var exact bool
		var err error
		if z, exact, err = resolveZone(m.TimeZone, m.Start); err != nil {
			return bad("%v", err)
		}
		if m.Recurrence != nil && !exact {
			return bad("a series needs a named time zone (Meeting.TimeZone, or a Start in a time.LoadLocation zone), not %q", m.Start.Location())
		}
		out["start"], out["end"] = z.wireTime(m.Start), z.wireTime(m.End)
		first = m365link.DateOf(m.Start.In(z.loc))
	}
	out["isAllDay"] = m.AllDay
	if m.Recurrence == nil {
		out["recurrence"] = nil
	} else {
		r, err := m.Recurrence.wire(first, z.wire)
		if err != nil {
			return bad("%v", err)
		}
		out["recurrence"] = r
	}
	if op == "create" {
		for k, v := range out {
			switch x := v.(type) {
			case nil:
				delete(out, k)
			case wireLocation:
				if x.DisplayName == "" {
					delete(out, k)
				}
			case wireBody:
				if x.Content == "" {
					delete(out, k)
				}
			case []string:
				if len(x) == 0 {
					delete(out, k)
				}
			case []wireAttendeeOut:
				if len(x) == 0 {
					delete(out, k)
				}
			}
		}
	}
	return out, z.wire, nil
}

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

// wire renders r for a series whose first meeting is on first, in the
// zone named zoneName, filling the defaults from first.
func (r *Recurrence) wire(first m365link.Date, zoneName string) (*wireRecurrence, error) {
	day := first.In(time.UTC)
	p := wirePattern{Type: string(r.Pattern), Interval: r.Interval}
	if p.Interval == 0 {
		p.Interval = 1
	}
	if p.Interval < 0 {
		return nil, fmt.Errorf("negative recurrence interval")
	}
	days := r.Days
	if len(days) == 0 && r.Pattern != Daily && r.Pattern != AbsoluteMonthly && r.Pattern != AbsoluteYearly {
		days = []time.Weekday{day.Weekday()}
	}
	for _, d := range days {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("weekday %d", d)
		}
		p.DaysOfWeek = append(p.DaysOfWeek, weekdayNames[d])
	}
	switch r.Pattern {
	case Daily:
		p.DaysOfWeek = nil
	case Weekly:
		p.FirstDayOfWeek = weekdayNames[r.FirstDayOfWeek]
	case AbsoluteMonthly, AbsoluteYearly:
		p.DayOfMonth = r.DayOfMonth
		if p.DayOfMonth == 0 {
			p.DayOfMonth = day.Day()
		}
		if p.DayOfMonth < 1 || p.DayOfMonth > 31 {
			return nil, fmt.Errorf("day of month %d", p.DayOfMonth)
		}
	case RelativeMonthly, RelativeYearly:
		p.Index = string(r.Index)
		if p.Index == "" {
			p.Index = string([]WeekIndex{First, Second, Third, Fourth, Last}[min((day.Day()-1)/7, 4)])
		}
		switch WeekIndex(p.Index) {
		case First, Second, Third, Fourth, Last:
		default:
			return nil, fmt.Errorf("week index %q", r.Index)
		}
	default:
		return nil, fmt.Errorf("recurrence pattern %q", r.Pattern)
	}
	if r.Pattern == AbsoluteYearly || r.Pattern == RelativeYearly {
		p.Month = int(r.Month)
		if p.Month == 0 {
			p.Month = int(day.Month())
		}
		if p.Month < 1 || p.Month > 12 {
			return nil, fmt.Errorf("month %d", p.Month)
		}
	}
	rg := wireRange{Type: "noEnd", StartDate: first.String(), RecurrenceTimeZone: zoneName}
	switch {
	case !r.Until.IsZero() && r.Count != 0:
		return nil, fmt.Errorf("a series ends by Until or by Count, not both")
	case r.Count < 0:
		return nil, fmt.Errorf("negative recurrence count")
	case r.Count > 0:
		rg.Type, rg.NumberOfOccurrences = "numbered", r.Count
	case !r.Until.IsZero():
		if r.Until.In(time.UTC).Before(day) {
			return nil, fmt.Errorf("the series ends (%s) before it starts (%s)", r.Until, first)
		}
		rg.Type, rg.EndDate = "endDate", r.Until.String()
	}
	return &wireRecurrence{Pattern: p, Range: rg}, nil
}
