package calendar

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/internal/tz"
)

// TimeRange is the half-open interval [Start, End).
type TimeRange struct {
	Start, End time.Time
}

// Duration is End - Start.
func (r TimeRange) Duration() time.Duration { return r.End.Sub(r.Start) }

// String formats r as "start/end" (RFC 3339).
func (r TimeRange) String() string {
	return r.Start.Format(time.RFC3339) + "/" + r.End.Format(time.RFC3339)
}

// WorkingHours are a user's working hours: the days, and the times of day
// in a zone.
type WorkingHours struct {
	Days []time.Weekday
	// Start and End are times of day, as durations since midnight.
	Start, End time.Duration
	// TimeZone is the zone as Graph named it: a Windows or IANA name, or a
	// custom zone's name ("Customized Time Zone").
	TimeZone string
	// Location is TimeZone's location; for a custom zone, its standard
	// offset without daylight saving rules. nil when unknown.
	Location *time.Location
}

// Within returns the working time of w inside window, in order. An
// unknown location reads the hours in UTC.
func (w *WorkingHours) Within(window TimeRange) []TimeRange {
	loc := w.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []TimeRange
	first := window.Start.In(loc).AddDate(0, 0, -1)
	for d := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc); d.Before(window.End); d = d.AddDate(0, 0, 1) {
		if !slices.Contains(w.Days, d.Weekday()) {
			continue
		}
		// Wall-clock times: across a daylight saving change a working day
		// still starts at its hour.
		from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, int(w.Start), loc)
		to := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, int(w.End), loc)
		if w.End <= w.Start {
			to = to.AddDate(0, 0, 1) // a night shift ends the next day
		}
		if r, ok := intersect(TimeRange{from, to}, window); ok {
			out = append(out, r)
		}
	}
	return out
}

func intersect(a, b TimeRange) (TimeRange, bool) {
	s, e := a.Start, a.End
	if b.Start.After(s) {
		s = b.Start
	}
	if b.End.Before(e) {
		e = b.End
	}
	return TimeRange{s, e}, s.Before(e)
}

// BusyBlock is a time a schedule is taken.
type BusyBlock struct {
	TimeRange
	Status FreeBusy
	// Subject and Location are shown only when the owner's sharing allows
	// it and the event is not private.
	Subject, Location string
	Private           bool
}

// Schedule is the free/busy of one user or room.
type Schedule struct {
	// Address is the address the schedule was asked for.
	Address string
	// Busy are the events that take time, in order.
	Busy []BusyBlock
	// View is Graph's availabilityView: a digit per interval, 0 free,
	// 1 tentative, 2 busy, 3 out of office, 4 working elsewhere.
	View string
	// WorkingHours are the owner's working hours, nil when Graph gave none.
	WorkingHours *WorkingHours
	// Err is a *ScheduleError when Graph could not read this schedule (an
	// unknown address, an external one); the other fields are then empty.
	Err error
}

// ScheduleError is Graph's error for one schedule: it answers 200 and
// puts the error on the schedule (GRAPH.md, Surprises).
type ScheduleError struct {
	Address string
	// ResponseCode is Graph's code, e.g. "5009" for an address it cannot
	// resolve.
	ResponseCode string
	Message      string
}

// Error names the address, the code and Graph's message.
func (e *ScheduleError) Error() string {
	return "calendar: schedule of " + e.Address + ": " + e.ResponseCode + " " + e.Message
}

// ScheduleOptions adjust [Client.Schedules].
type ScheduleOptions struct {
	// Interval is the granularity of Schedule.View; default 30 minutes,
	// 5 minutes to a day.
	Interval time.Duration
	// TimeZone (Windows or IANA) is the zone Graph renders times in
	// (Prefer: outlook.timezone); the times returned are in its location.
	// Default UTC.
	TimeZone string
}

// MaxSchedulesPerRequest is how many addresses one getSchedule request
// carries. Graph documents 20 (the server's own error says 100);
// [Client.Schedules] asks for more in several requests.
const MaxSchedulesPerRequest = 20

// MaxScheduleWindow bounds a getSchedule window: Graph wants less than 62 days.
const MaxScheduleWindow = 62*24*time.Hour - time.Minute

// Schedules reads the free/busy and working hours of users and rooms
// (their SMTP addresses) in window, as the mailbox sees them
// (Calendars.Read). The answer has one Schedule per address, in order; an
// address Graph cannot read has its Err set, and is no error of the call.
//
// Graph: POST /users/{id}/calendar/getSchedule.
func (c *Client) Schedules(ctx context.Context, tok TokenSource, mailbox string, addresses []string, window TimeRange, opts *ScheduleOptions) ([]Schedule, error) {
	const op = "schedule"
	if opts == nil {
		opts = &ScheduleOptions{}
	}
	interval := cmp.Or(opts.Interval, 30*time.Minute)
	switch {
	case len(addresses) == 0:
		return nil, nil
	case !window.Start.Before(window.End):
		return nil, invalid(op, mailbox, "empty window")
	case window.Duration() > MaxScheduleWindow:
		return nil, invalid(op, mailbox, "a window must be shorter than 62 days")
	case interval < 5*time.Minute || interval > 24*time.Hour || interval%time.Minute != 0:
		return nil, invalid(op, mailbox, "Interval must be whole minutes from 5 minutes to a day")
	}
	loc := time.UTC
	if opts.TimeZone != "" {
		l, ok := tz.Location(opts.TimeZone)
		if !ok {
			return nil, invalid(op, mailbox, "unknown time zone "+opts.TimeZone)
		}
		loc = l
	}
	out := make([]Schedule, 0, len(addresses))
	for chunk := range slices.Chunk(addresses, MaxSchedulesPerRequest) {
		body := map[string]any{
			"schedules":                chunk,
			"startTime":                wireDTZ{DateTime: window.Start.UTC().Format("2006-01-02T15:04:05"), TimeZone: "UTC"},
			"endTime":                  wireDTZ{DateTime: window.End.UTC().Format("2006-01-02T15:04:05"), TimeZone: "UTC"},
			"availabilityViewInterval": int(interval / time.Minute),
		}
		var page struct {
			Value []wireSchedule `json:"value"`
		}
		req := &graph.Request{Method: http.MethodPost, Path: graph.Path("users", mailbox, "calendar", "getSchedule"),
			Body: body, Header: preferZone(opts.TimeZone), Idempotent: true}
		if err := c.call(ctx, tok, mailbox, req, &page); err != nil {
			return nil, classify(op, mailbox, "", onMailbox, err)
		}
		if len(page.Value) != len(chunk) {
			return nil, &Error{Op: op, Mailbox: mailbox, Err: fmt.Errorf("%w: %d schedules for %d addresses", m365link.ErrMalformedResponse, len(page.Value), len(chunk))}
		}
		for i, w := range page.Value {
			s, err := w.vocab(chunk[i], loc)
			if err != nil {
				return nil, &Error{Op: op, Mailbox: mailbox, Err: err}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

type wireSchedule struct {
	ScheduleID       string `json:"scheduleId"`
	AvailabilityView string `json:"availabilityView"`
	ScheduleItems    []struct {
		Status    string     `json:"status"`
		Start     wireDTZ    `json:"start"`
		End       wireDTZ    `json:"end"`
		Subject   string     `json:"subject"`
		Location  string     `json:"location"`
		IsPrivate graph.Bool `json:"isPrivate"`
	} `json:"scheduleItems"`
	WorkingHours *wireWorkingHours `json:"workingHours"`
	Error        *struct {
		Message      string `json:"message"`
		ResponseCode string `json:"responseCode"`
	} `json:"error"`
}

func (w *wireSchedule) vocab(address string, loc *time.Location) (Schedule, error) {
	s := Schedule{Address: address, View: w.AvailabilityView}
	if w.Error != nil {
		s.Err = &ScheduleError{Address: address, ResponseCode: w.Error.ResponseCode, Message: w.Error.Message}
		return s, nil
	}
	for _, it := range w.ScheduleItems {
		start, ok1 := it.Start.Instant()
		end, ok2 := it.End.Instant()
		if !ok1 || !ok2 {
			return s, fmt.Errorf("%w: schedule item of %s at %q", m365link.ErrMalformedResponse, address, it.Start.DateTime)
		}
		s.Busy = append(s.Busy, BusyBlock{TimeRange: TimeRange{start.In(loc), end.In(loc)}, Status: FreeBusy(it.Status),
			Subject: it.Subject, Location: it.Location, Private: bool(it.IsPrivate)})
	}
	slices.SortFunc(s.Busy, func(a, b BusyBlock) int { return a.Start.Compare(b.Start) })
	if w.WorkingHours != nil {
		wh, err := w.WorkingHours.vocab()
		if err != nil {
			return s, err
		}
		s.WorkingHours = wh
	}
	return s, nil
}

// SlotOptions shape what [FreeSlots] counts as free.
type SlotOptions struct {
	// Length is the shortest slot worth returning; default 30 minutes.
	Length time.Duration
	// Step aligns slot starts to multiples of Step from midnight in the
	// window's location (30 minutes: :00 and :30); zero does not align.
	Step time.Duration
	// WorkingHoursOnly keeps each schedule to its working hours (a
	// schedule without them is not restricted).
	WorkingHoursOnly bool
	// TentativeIsFree counts tentative time as free; by default it is
	// taken. Working elsewhere is free, out of office taken.
	TentativeIsFree bool
}

// FreeSlots intersects the free time of schedules in window: the times
// everyone is free, as maximal ranges at least opts.Length long, in order.
// It is for internal attendees, whose schedules Graph reads (a vendor's
// is not: invite them to a slot found here). A schedule that carries an
// error makes the answer unknowable: FreeSlots returns that error.
func FreeSlots(window TimeRange, schedules []Schedule, opts SlotOptions) ([]TimeRange, error) {
	length := cmp.Or(opts.Length, 30*time.Minute)
	var free []TimeRange
	if window.Start.Before(window.End) {
		free = []TimeRange{window}
	}
	for _, s := range schedules {
		if s.Err != nil {
			return nil, s.Err
		}
		mine := []TimeRange{window}
		if opts.WorkingHoursOnly && s.WorkingHours != nil {
			mine = s.WorkingHours.Within(window)
		}
		for _, b := range s.Busy {
			if b.Status == Free || b.Status == WorkingElsewhere || b.Status == Tentative && opts.TentativeIsFree {
				continue
			}
			mine = subtract(mine, b.TimeRange)
		}
		free = intersectAll(free, mine)
	}
	out := free[:0]
	for _, r := range free {
		if opts.Step > 0 {
			r.Start = alignUp(r.Start.In(window.Start.Location()), opts.Step)
		}
		if r.Duration() >= length {
			out = append(out, r)
		}
	}
	return out, nil
}

// alignUp rounds t up to a multiple of step from its day's midnight.
func alignUp(t time.Time, step time.Duration) time.Time {
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	since := t.Sub(midnight)
	if rem := since % step; rem != 0 {
		return t.Add(step - rem)
	}
	return t
}

// subtract removes b from the ordered, disjoint ranges rs.
func subtract(rs []TimeRange, b TimeRange) []TimeRange {
	var out []TimeRange
	for _, r := range rs {
		if !b.Start.Before(r.End) || !b.End.After(r.Start) {
			out = append(out, r)
			continue
		}
		if b.Start.After(r.Start) {
			out = append(out, TimeRange{r.Start, b.Start})
		}
		if b.End.Before(r.End) {
			out = append(out, TimeRange{b.End, r.End})
		}
	}
	return out
}

// intersectAll intersects two ordered lists of disjoint ranges.
func intersectAll(a, b []TimeRange) []TimeRange {
	var out []TimeRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if r, ok := intersect(a[i], b[j]); ok {
			out = append(out, r)
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return out
}

// CommonFreeSlots reads the schedules of addresses (the mailbox's own
// included when listed) and returns the slots in window when all are free
// ([FreeSlots]). Times are in window.Start's location.
func (c *Client) CommonFreeSlots(ctx context.Context, tok TokenSource, mailbox string, addresses []string, window TimeRange, opts SlotOptions) ([]TimeRange, error) {
	scheds, err := c.Schedules(ctx, tok, mailbox, addresses, window, &ScheduleOptions{TimeZone: zoneNameOf(window.Start.Location())})
	if err != nil {
		return nil, err
	}
	slots, err := FreeSlots(window, scheds, opts)
	if err != nil {
		return nil, &Error{Op: "schedule", Mailbox: mailbox, Err: err}
	}
	return slots, nil
}

// zoneNameOf is the name to send for loc, "" (UTC) when Graph would not
// know it.
func zoneNameOf(loc *time.Location) string {
	if w, ok := tz.Windows(loc.String()); ok {
		return w
	}
	return ""
}

// MeetingTimeRequest is what [Client.FindMeetingTimes] looks for.
type MeetingTimeRequest struct {
	// Attendees to find a time for; the mailbox is the organizer.
	Attendees []m365link.Attendee
	// Windows are the ranges to search; none lets Graph choose (the
	// next two working days).
	Windows []TimeRange
	// Length is the meeting's length; default 30 minutes.
	Length time.Duration
	// MaxCandidates bounds the suggestions; zero lets Graph choose.
	MaxCandidates int
	// OrganizerOptional finds times even when the organizer is busy.
	OrganizerOptional bool
	// MinimumAttendeePercentage is the confidence a suggestion needs;
	// zero keeps Graph's default (50).
	MinimumAttendeePercentage float64
	// AnyTime searches outside working hours too (activityDomain
	// unrestricted); by default only working hours count.
	AnyTime bool
	// TimeZone (Windows or IANA) is the zone of the answer's times
	// (Prefer: outlook.timezone); default UTC.
	TimeZone string
}

// MeetingTimes is what Graph suggested.
type MeetingTimes struct {
	Suggestions []Suggestion
	// EmptyReason says why there is none: "attendeesUnavailable",
	// "attendeesUnavailableOrUnknown", "locationsUnavailable",
	// "organizerUnavailable" or "unknown" (normalised to this case).
	EmptyReason string
}

// Suggestion is one suggested meeting time.
type Suggestion struct {
	TimeRange
	// Confidence is Graph's percentage that everyone can come.
	Confidence            float64
	OrganizerAvailability FreeBusy
	Attendees             []AttendeeAvailability
	// Reason is Graph's explanation, when asked for.
	Reason string
}

// AttendeeAvailability is an attendee's availability at a suggested time.
type AttendeeAvailability struct {
	m365link.EmailAddress
	Type         m365link.AttendeeType
	Availability FreeBusy
}

var emptyReasons = []string{"attendeesUnavailable", "attendeesUnavailableOrUnknown", "locationsUnavailable", "organizerUnavailable", "unknown"}

// FindMeetingTimes asks Graph for times the attendees can meet
// (delegated tokens only: Graph supports no application permission here).
//
// Graph: POST /users/{id}/findMeetingTimes.
func (c *Client) FindMeetingTimes(ctx context.Context, tok TokenSource, mailbox string, r *MeetingTimeRequest) (*MeetingTimes, error) {
	const op = "find meeting times"
	if len(r.Attendees) > MaxAttendees {
		return nil, &Error{Op: op, Mailbox: mailbox, Kind: ErrAttendeeLimit}
	}
	loc := time.UTC
	if r.TimeZone != "" {
		l, ok := tz.Location(r.TimeZone)
		if !ok {
			return nil, invalid(op, mailbox, "unknown time zone "+r.TimeZone)
		}
		loc = l
	}
	length := cmp.Or(r.Length, 30*time.Minute)
	if length < time.Minute {
		return nil, invalid(op, mailbox, "Length under a minute")
	}
	attendees := make([]wireAttendeeOut, len(r.Attendees))
	for i, a := range r.Attendees {
		attendees[i] = wireAttendeeOut{Type: string(orDefault(a.Type, m365link.AttendeeRequired)), EmailAddress: wireEmail{Name: a.Name, Address: a.Address}}
	}
	body := map[string]any{"attendees": attendees, "meetingDuration": isoDuration(length), "isOrganizerOptional": r.OrganizerOptional,
		"returnSuggestionReasons": true}
	if r.MaxCandidates > 0 {
		body["maxCandidates"] = r.MaxCandidates
	}
	if r.MinimumAttendeePercentage > 0 {
		body["minimumAttendeePercentage"] = r.MinimumAttendeePercentage
	}
	domain := "work"
	if r.AnyTime {
		domain = "unrestricted"
	}
	slots := make([]map[string]wireDTZ, 0, len(r.Windows))
	for _, w := range r.Windows {
		if !w.Start.Before(w.End) {
			return nil, invalid(op, mailbox, "empty window "+w.String())
		}
		slots = append(slots, map[string]wireDTZ{
			"start": {DateTime: w.Start.UTC().Format("2006-01-02T15:04:05"), TimeZone: "UTC"},
			"end":   {DateTime: w.End.UTC().Format("2006-01-02T15:04:05"), TimeZone: "UTC"}})
	}
	body["timeConstraint"] = map[string]any{"activityDomain": domain, "timeSlots": slots}
	var w struct {
		EmptySuggestionsReason string `json:"emptySuggestionsReason"`
		MeetingTimeSuggestions []struct {
			Confidence            float64 `json:"confidence"`
			OrganizerAvailability string  `json:"organizerAvailability"`
			SuggestionReason      string  `json:"suggestionReason"`
			MeetingTimeSlot       struct {
				Start wireDTZ `json:"start"`
				End   wireDTZ `json:"end"`
			} `json:"meetingTimeSlot"`
			AttendeeAvailability []struct {
				Availability string          `json:"availability"`
				Attendee     wireAttendeeOut `json:"attendee"`
			} `json:"attendeeAvailability"`
		} `json:"meetingTimeSuggestions"`
	}
	req := &graph.Request{Method: http.MethodPost, Path: graph.Path("users", mailbox, "findMeetingTimes"), Body: body,
		Header: preferZone(r.TimeZone), Idempotent: true}
	if err := c.call(ctx, tok, mailbox, req, &w); err != nil {
		return nil, classify(op, mailbox, "", onMailbox, err)
	}
	out := &MeetingTimes{}
	for _, reason := range emptyReasons {
		// The docs' own example says "AttendeesUnavailable" (GRAPH.md).
		if strings.EqualFold(reason, w.EmptySuggestionsReason) {
			out.EmptyReason = reason
		}
	}
	if out.EmptyReason == "" && w.EmptySuggestionsReason != "" {
		out.EmptyReason = w.EmptySuggestionsReason
	}
	for _, s := range w.MeetingTimeSuggestions {
		start, ok1 := s.MeetingTimeSlot.Start.Instant()
		end, ok2 := s.MeetingTimeSlot.End.Instant()
		if !ok1 || !ok2 {
			return nil, &Error{Op: op, Mailbox: mailbox, Err: fmt.Errorf("%w: suggestion at %q", m365link.ErrMalformedResponse, s.MeetingTimeSlot.Start.DateTime)}
		}
		sg := Suggestion{TimeRange: TimeRange{start.In(loc), end.In(loc)}, Confidence: s.Confidence,
			OrganizerAvailability: FreeBusy(s.OrganizerAvailability), Reason: s.SuggestionReason}
		for _, a := range s.AttendeeAvailability {
			sg.Attendees = append(sg.Attendees, AttendeeAvailability{
				EmailAddress: m365link.EmailAddress{Name: a.Attendee.EmailAddress.Name, Address: a.Attendee.EmailAddress.Address},
				Type:         m365link.AttendeeType(a.Attendee.Type), Availability: FreeBusy(a.Availability)})
		}
		out.Suggestions = append(out.Suggestions, sg)
	}
	return out, nil
}

// isoDuration renders d as ISO 8601 (PT1H30M), whole seconds.
func isoDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	out := "PT"
	if h > 0 {
		out += fmt.Sprintf("%dH", h)
	}
	if m > 0 {
		out += fmt.Sprintf("%dM", m)
	}
	if s > 0 || h == 0 && m == 0 {
		out += fmt.Sprintf("%dS", s)
	}
	return out
}
