package calendar

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/internal/tz"
)

// Lean wire types for the fields this package reads and writes, decoded by
// encoding/json; the leaf types of internal/graph (Bool, Time,
// DateTimeTimeZone) absorb the drift of Graph's payloads. Two small
// parsers are hand-written, and fuzzed: times of day and lenient integers.

type wireDTZ = graph.DateTimeTimeZone

type wireEmail struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type wireAttendeeOut struct {
	Type         string    `json:"type"`
	EmailAddress wireEmail `json:"emailAddress"`
}

type wireBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type wireLocation struct {
	DisplayName string `json:"displayName"`
}

type wirePattern struct {
	Type           string   `json:"type"`
	Interval       int      `json:"interval"`
	Month          int      `json:"month,omitempty"`
	DayOfMonth     int      `json:"dayOfMonth,omitempty"`
	DaysOfWeek     []string `json:"daysOfWeek,omitempty"`
	FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	Index          string   `json:"index,omitempty"`
}

type wireRange struct {
	Type                string `json:"type"`
	StartDate           string `json:"startDate"`
	EndDate             string `json:"endDate,omitempty"`
	NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
	RecurrenceTimeZone  string `json:"recurrenceTimeZone,omitempty"`
}

type wireRecurrence struct {
	Pattern wirePattern `json:"pattern"`
	Range   wireRange   `json:"range"`
}

type wireExtProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// wireEvent is Graph's event as this package reads it.
type wireEvent struct {
	ID                    string           `json:"id"`
	ChangeKey             string           `json:"changeKey"`
	ICalUID               string           `json:"iCalUId"`
	SeriesMasterID        string           `json:"seriesMasterId"`
	Type                  string           `json:"type"`
	Subject               string           `json:"subject"`
	BodyPreview           string           `json:"bodyPreview"`
	Body                  *wireBody        `json:"body"`
	Organizer             *graph.Recipient `json:"organizer"`
	Attendees             []graph.Attendee `json:"attendees"`
	Start                 wireDTZ          `json:"start"`
	End                   wireDTZ          `json:"end"`
	OriginalStart         graph.Time       `json:"originalStart"`
	OriginalStartTimeZone string           `json:"originalStartTimeZone"`
	IsAllDay              graph.Bool       `json:"isAllDay"`
	IsCancelled           graph.Bool       `json:"isCancelled"`
	IsOnlineMeeting       graph.Bool       `json:"isOnlineMeeting"`
	IsOrganizer           graph.Bool       `json:"isOrganizer"`
	IsReminderOn          *graph.Bool      `json:"isReminderOn"`
	ReminderMinutes       *lenientInt      `json:"reminderMinutesBeforeStart"`
	OnlineMeetingProvider string           `json:"onlineMeetingProvider"`
	OnlineMeeting         *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
	Location             *wireLocation   `json:"location"`
	Categories           []string        `json:"categories"`
	Sensitivity          string          `json:"sensitivity"`
	ShowAs               string          `json:"showAs"`
	Recurrence           *wireRecurrence `json:"recurrence"`
	TransactionID        string          `json:"transactionId"`
	LastModifiedDateTime graph.Time      `json:"lastModifiedDateTime"`
	WebLink              string          `json:"webLink"`
	ExtendedProperties   []wireExtProp   `json:"singleValueExtendedProperties"`
}

// lenientInt is a JSON number, or a string spelling one, or null (0).
type lenientInt int

// UnmarshalJSON reads a number or a quoted number.
func (n *lenientInt) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*n = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return errors.New("calendar: unreadable integer")
		}
		v = int(f)
	}
	*n = lenientInt(v)
	return nil
}

// property returns the value of the extended property id, as read back.
func (w *wireEvent) property(id string) (string, bool) {
	for _, p := range w.ExtendedProperties {
		if strings.EqualFold(p.ID, id) {
			return p.Value, true
		}
	}
	return "", false
}

// vocab converts an event as read into the package's Event.
func (w *wireEvent) vocab() *Event {
	start, _ := w.Start.Instant()
	end, _ := w.End.Instant()
	zoneName := w.OriginalStartTimeZone
	if zoneName == "" {
		zoneName = w.Start.TimeZone
	}
	e := &Event{Event: m365link.Event{
		ID: w.ID, ChangeKey: w.ChangeKey, ICalUID: w.ICalUID, SeriesMasterID: w.SeriesMasterID,
		OriginalStart: w.OriginalStart.Time, Type: m365link.EventType(w.Type), Subject: w.Subject,
		BodyPreview: w.BodyPreview, Start: start.UTC(), End: end.UTC(), TimeZone: zoneName,
		IsAllDay: bool(w.IsAllDay), IsCancelled: bool(w.IsCancelled), IsOnlineMeeting: bool(w.IsOnlineMeeting),
		OnlineMeetingProvider: w.OnlineMeetingProvider, Sensitivity: w.Sensitivity, ShowAs: w.ShowAs,
		LastModified: w.LastModifiedDateTime.Time, WebLink: w.WebLink,
	}, IsOrganizer: bool(w.IsOrganizer), TransactionID: w.TransactionID, ReminderOn: true}
	e.IANAZone, _ = tz.IANA(zoneName)
	if w.Organizer != nil {
		e.Organizer = m365link.EmailAddress{Name: w.Organizer.EmailAddress.Name, Address: w.Organizer.EmailAddress.Address}
	}
	for _, a := range w.Attendees {
		e.Attendees = append(e.Attendees, m365link.Attendee{
			EmailAddress: m365link.EmailAddress{Name: a.EmailAddress.Name, Address: a.EmailAddress.Address},
			Type:         m365link.AttendeeType(a.Type), Response: a.Status.Response})
	}
	if w.OnlineMeeting != nil {
		e.JoinURL = w.OnlineMeeting.JoinURL
	}
	if w.Location != nil {
		e.Location = w.Location.DisplayName
	}
	if len(w.Categories) > 0 {
		e.Categories = w.Categories
	}
	if w.Body != nil {
		e.Body, e.BodyHTML = w.Body.Content, strings.EqualFold(w.Body.ContentType, "html")
	}
	if w.IsReminderOn != nil {
		e.ReminderOn = bool(*w.IsReminderOn)
	}
	if w.ReminderMinutes != nil {
		e.Reminder = time.Duration(*w.ReminderMinutes) * time.Minute
	}
	if e.IsAllDay {
		e.StartDate, e.EndDate = allDayDate(w.Start, zoneName), allDayDate(w.End, zoneName)
	}
	if w.Recurrence != nil {
		e.Recurrence = w.Recurrence.vocab()
	}
	for _, p := range w.ExtendedProperties {
		if p.ID == keyPropertyID {
			e.Key = p.Value
		}
	}
	return e
}

// allDayDate is the day an all-day event's start or end falls on: its
// midnight read in the event's own zone, else the date written. The
// instant is read to the nearest midnight: a day whose midnight falls in a
// daylight-saving gap starts at 01:00 (or is stored as 23:00 the day
// before), and is still that day.
func allDayDate(d wireDTZ, zoneName string) m365link.Date {
	at, ok := d.Instant()
	if !ok || at.IsZero() {
		return m365link.Date{}
	}
	if loc, ok := tz.Location(zoneName); ok {
		if _, known := tz.Location(d.TimeZone); known || d.TimeZone == "" || strings.EqualFold(d.TimeZone, "UTC") {
			return m365link.DateOf(at.In(loc).Add(12 * time.Hour))
		}
	}
	if len(d.DateTime) >= len(time.DateOnly) {
		if t, err := time.Parse(time.DateOnly, d.DateTime[:len(time.DateOnly)]); err == nil {
			return m365link.DateOf(t)
		}
	}
	return m365link.DateOf(at)
}

var weekdayNames = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

func weekdayOf(name string) (time.Weekday, bool) {
	for i, n := range weekdayNames {
		if strings.EqualFold(n, name) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

func (w *wireRecurrence) vocab() *Recurrence {
	r := &Recurrence{Pattern: Pattern(w.Pattern.Type), Interval: w.Pattern.Interval, DayOfMonth: w.Pattern.DayOfMonth,
		Month: time.Month(w.Pattern.Month)}
	for _, d := range w.Pattern.DaysOfWeek {
		if wd, ok := weekdayOf(d); ok {
			r.Days = append(r.Days, wd)
		}
	}
	if wd, ok := weekdayOf(w.Pattern.FirstDayOfWeek); ok {
		r.FirstDayOfWeek = wd
	}
	if r.Pattern == RelativeMonthly || r.Pattern == RelativeYearly {
		r.Index = WeekIndex(w.Pattern.Index)
	}
	switch w.Range.Type {
	case "endDate":
		if t, err := time.Parse(time.DateOnly, w.Range.EndDate); err == nil {
			r.Until = m365link.DateOf(t)
		}
	case "numbered":
		r.Count = w.Range.NumberOfOccurrences
	}
	return r
}

// wireWorkingHours is Graph's workingHours.
type wireWorkingHours struct {
	DaysOfWeek []string `json:"daysOfWeek"`
	StartTime  string   `json:"startTime"`
	EndTime    string   `json:"endTime"`
	TimeZone   *struct {
		Name string      `json:"name"`
		Bias *lenientInt `json:"bias"`
	} `json:"timeZone"`
}

func (w *wireWorkingHours) vocab() (*WorkingHours, error) {
	start, ok1 := parseTimeOfDay(w.StartTime)
	end, ok2 := parseTimeOfDay(w.EndTime)
	if !ok1 || !ok2 {
		return nil, errors.New("calendar: unreadable working hours " + strconv.Quote(w.StartTime) + " to " + strconv.Quote(w.EndTime))
	}
	wh := &WorkingHours{Start: start, End: end}
	for _, d := range w.DaysOfWeek {
		if wd, ok := weekdayOf(d); ok {
			wh.Days = append(wh.Days, wd)
		}
	}
	if w.TimeZone != nil {
		wh.TimeZone = w.TimeZone.Name
		if loc, ok := tz.Location(w.TimeZone.Name); ok {
			wh.Location = loc
		} else if w.TimeZone.Bias != nil {
			// A customTimeZone ("Customized Time Zone"): its standard bias
			// is known, its daylight rules are not applied.
			wh.Location = time.FixedZone(w.TimeZone.Name, -int(*w.TimeZone.Bias)*60)
		}
	}
	return wh, nil
}

// parseTimeOfDay reads Graph's timeOfDay, "08:30:00.0000000": hours
// 00–23, minutes and seconds 00–59, and up to seven fractional digits.
func parseTimeOfDay(s string) (time.Duration, bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, false
	}
	num := func(a, b byte) (int, bool) {
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return 0, false
		}
		return int(a-'0')*10 + int(b-'0'), true
	}
	h, ok1 := num(s[0], s[1])
	m, ok2 := num(s[3], s[4])
	sec, ok3 := num(s[6], s[7])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	rest := s[8:]
	if rest == "" {
		return d, true
	}
	if rest[0] != '.' || len(rest) < 2 || len(rest) > 8 {
		return 0, false
	}
	frac := time.Duration(0)
	for i := 1; i < 8; i++ {
		frac *= 10
		if i < len(rest) {
			c := rest[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			frac += time.Duration(c - '0')
		}
	}
	return d + frac*100, true
}

// formatTimeOfDay is parseTimeOfDay's inverse, to the 100 ns.
func formatTimeOfDay(d time.Duration) string {
	t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
	return t.Format("15:04:05.0000000")
}
