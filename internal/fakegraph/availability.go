package fakegraph

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Availability and mailbox settings, as Graph serves them (GRAPH.md,
// Availability):
//
//   - POST /users/{id}/calendar/getSchedule: free/busy of users and rooms
//     from their default calendars, working hours from their mailbox
//     settings; an address without a mailbox comes back as an item with an
//     error (responseCode 5009) in a 200; more than 100 schedules answer
//     400 ErrorMailboxDataArrayTooBig (the server's limit; the docs say 20),
//     a window of 62 days or more 400;
//   - POST /users/{id}/findMeetingTimes: candidates on the half hour in the
//     given slots, within the organizer's working hours unless
//     activityDomain says otherwise;
//   - GET /users/{id}/mailboxSettings.
//
// Times render in the zone of Prefer: outlook.timezone, else UTC.

// MailboxSettings are the settings of a mailbox the fake serves. The zero
// value is UTC with Monday to Friday, 08:00 to 17:00.
type MailboxSettings struct {
	// TimeZone is the mailbox's zone as Graph reports it: a Windows name
	// (the default) or an IANA one; "" is "UTC".
	TimeZone string
	// WorkingDays are the working days; nil is Monday to Friday.
	WorkingDays []time.Weekday
	// WorkStart and WorkEnd are the working hours as times of day; both
	// zero are 08:00 and 17:00.
	WorkStart, WorkEnd time.Duration
	// WorkingHoursTimeZone is the zone of the working hours; "" is TimeZone.
	WorkingHoursTimeZone string
}

func (m MailboxSettings) withDefaults() MailboxSettings {
	m.TimeZone = cmp.Or(m.TimeZone, "UTC")
	if m.WorkingDays == nil {
		m.WorkingDays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	if m.WorkStart == 0 && m.WorkEnd == 0 {
		m.WorkStart, m.WorkEnd = 8*time.Hour, 17*time.Hour
	}
	m.WorkingHoursTimeZone = cmp.Or(m.WorkingHoursTimeZone, m.TimeZone)
	return m
}

// SetMailboxSettings sets a mailbox's settings.
func (s *Server) SetMailboxSettings(userID string, m MailboxSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cal.init()
	m.WorkingDays = slices.Clone(m.WorkingDays)
	s.cal.settings[s.mailboxLocked(userID).userID] = &m
}

func (s *Server) settingsOf(mb *mailbox) MailboxSettings {
	s.cal.init()
	if m := s.cal.settings[mb.userID]; m != nil {
		return m.withDefaults()
	}
	return MailboxSettings{}.withDefaults()
}

func appendTimeOfDay(b []byte, d time.Duration) []byte {
	return appendString(b, fmt.Sprintf("%02d:%02d:%02d.0000000", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60))
}

func appendWorkingHours(b []byte, m MailboxSettings) []byte {
	b = append(b, `{"daysOfWeek":`...)
	days := make([]string, len(m.WorkingDays))
	for i, d := range m.WorkingDays {
		days[i] = weekdays[d]
	}
	b = appendStrings(b, days)
	b = append(b, `,"startTime":`...)
	b = appendTimeOfDay(b, m.WorkStart)
	b = append(b, `,"endTime":`...)
	b = appendTimeOfDay(b, m.WorkEnd)
	b = append(b, `,"timeZone":{"name":`...)
	b = appendString(b, m.WorkingHoursTimeZone)
	return append(b, "}}"...)
}

func (s *Server) getMailboxSettings(rc *reqCtx) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		m := s.settingsOf(mb)
		b := []byte(`{"@odata.context":`)
		b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/mailboxSettings"))
		b = append(b, `,"archiveFolder":`...)
		b = appendString(b, mb.wellKnown["archive"].id)
		b = append(b, `,"timeZone":`...)
		b = appendString(b, m.TimeZone)
		b = append(b, `,"delegateMeetingMessageDeliveryOptions":"sendToDelegateOnly","dateFormat":"M/d/yyyy","timeFormat":"h:mm tt","userPurpose":"user",`...)
		b = append(b, `"automaticRepliesSetting":{"status":"disabled","externalAudience":"all","internalReplyMessage":"","externalReplyMessage":""},`...)
		b = append(b, `"language":{"locale":"en-US","displayName":"English (United States)"},"workingHours":`...)
		b = appendWorkingHours(b, m)
		return jsonResult(append(b, '}'))
	})
}

// inWorkingHours reports whether [start, end) lies within one working day
// of m.
func inWorkingHours(m MailboxSettings, start, end time.Time) bool {
	loc, _ := zoneFor(m.WorkingHoursTimeZone)
	if loc == nil {
		loc = time.UTC
	}
	ls, le := start.In(loc), end.In(loc)
	day := time.Date(ls.Year(), ls.Month(), ls.Day(), 0, 0, 0, 0, loc)
	if !slices.Contains(m.WorkingDays, ls.Weekday()) {
		return false
	}
	from := day.Add(m.WorkStart)
	to := day.Add(m.WorkEnd)
	return !ls.Before(from) && !le.After(to)
}

// freeBusy ranks: a slot takes the strongest status of what overlaps it.
var freeBusyRank = map[string]int{"free": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}

var availabilityDigit = map[string]byte{"free": '0', "tentative": '1', "busy": '2', "oof": '3', "workingElsewhere": '4'}

// busyIn lists a mailbox's events that take time in [start, end): not
// series masters, not cancelled, not shown as free.
func busyIn(mb *mailbox, start, end time.Time) []*Event {
	var out []*Event
	for _, r := range mb.events.items {
		e := &r.item
		if e.CalendarID == mb.events.primary.id && inView(e, start, end) && !e.IsCancelled && e.ShowAs != "free" {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// statusIn is the strongest status of what overlaps [start, end).
func statusIn(evs []*Event, start, end time.Time) string {
	st := "free"
	for _, e := range evs {
		if e.Start.Before(end) && e.End.After(start) && freeBusyRank[e.ShowAs] > freeBusyRank[st] {
			st = e.ShowAs
		}
	}
	return st
}

// mailboxByAddress finds the mailbox of an SMTP address in the caller's
// tenant.
func (s *Server) mailboxByAddress(rc *reqCtx, addr string) *mailbox {
	for _, u := range s.users {
		if u.mb != nil && s.visible(rc, u.u.TenantID) && (strings.EqualFold(u.u.Mail, addr) || strings.EqualFold(u.u.UPN, addr)) {
			return u.mb
		}
	}
	return nil
}

func (s *Server) getSchedule(rc *reqCtx) *result {
	var req struct {
		Schedules                []string     `json:"schedules"`
		StartTime                dateTimeTZIn `json:"startTime"`
		EndTime                  dateTimeTZIn `json:"endTime"`
		AvailabilityViewInterval int          `json:"availabilityViewInterval"`
	}
	if res := s.readJSONBody(rc, &req); res != nil {
		return res
	}
	start, _, ok1 := parseDateTimeTZ(req.StartTime)
	end, _, ok2 := parseDateTimeTZ(req.EndTime)
	interval := cmp.Or(req.AvailabilityViewInterval, 30)
	switch {
	case len(req.Schedules) == 0:
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "The schedules parameter is required.")
	case len(req.Schedules) > 100:
		return s.fail(rc, http.StatusBadRequest, "ErrorMailboxDataArrayTooBig", "The MailboxData array exceeds the maximum allowed size of 100.")
	case !ok1 || !ok2 || !start.Before(end):
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "The startTime and endTime must be valid and startTime before endTime.")
	case end.Sub(start) >= 62*24*time.Hour:
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "The time period to look up must be less than 62 days.")
	case interval < 5 || interval > 1440:
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "The availabilityViewInterval must be between 5 and 1440.")
	}
	step := time.Duration(interval) * time.Minute
	return s.inMailbox(rc, func(*mailbox) *result {
		rctx := s.renderCtx(rc)
		l := newList(s.metadata(rc, "Collection(microsoft.graph.scheduleInformation)"))
		for _, addr := range req.Schedules {
			l.next()
			l.b = append(l.b, `{"scheduleId":`...)
			l.b = appendString(l.b, addr)
			mb := s.mailboxByAddress(rc, addr)
			if mb == nil {
				l.b = append(l.b, `,"availabilityView":"","scheduleItems":[],"workingHours":null,"error":{"message":`...)
				l.b = appendString(l.b, "The requested user '"+addr+"' is invalid.")
				l.b = append(l.b, `,"responseCode":"5009"}}`...)
				continue
			}
			evs := busyIn(mb, start, end)
			var view []byte
			for t := start; t.Before(end); t = t.Add(step) {
				view = append(view, availabilityDigit[statusIn(evs, t, t.Add(step))])
			}
			l.b = append(l.b, `,"availabilityView":`...)
			l.b = appendString(l.b, string(view))
			l.b = append(l.b, `,"scheduleItems":`...)
			l.b = appendArray(l.b, evs, func(b []byte, e *Event) []byte {
				private := e.Sensitivity == "private"
				b = append(b, `{"isPrivate":`...)
				b = appendBool(b, private)
				b = append(b, `,"status":`...)
				b = appendString(b, e.ShowAs)
				if !private {
					b = append(b, `,"subject":`...)
					b = appendString(b, e.Subject)
					b = append(b, `,"location":`...)
					b = appendString(b, e.Location)
				}
				b = append(b, `,"start":`...)
				b = eventDateTime(b, e.Start, rctx)
				b = append(b, `,"end":`...)
				b = eventDateTime(b, e.End, rctx)
				return append(b, '}')
			})
			l.b = append(l.b, `,"workingHours":`...)
			l.b = appendWorkingHours(l.b, s.settingsOf(mb))
			l.b = append(l.b, '}')
		}
		return jsonResult(l.close("", ""))
	})
}

// parseISODuration reads the PTnHnM form of meetingDuration.
func parseISODuration(v string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(strings.ToUpper(v), "PT")
	if !ok || rest == "" {
		return 0, false
	}
	var d time.Duration
	for rest != "" {
		i := strings.IndexAny(rest, "HMS")
		if i <= 0 {
			return 0, false
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			return 0, false
		}
		unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}[rest[i]]
		d += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return d, d > 0
}

func (s *Server) findMeetingTimes(rc *reqCtx) *result {
	var req struct {
		Attendees      []attendeeIn `json:"attendees"`
		TimeConstraint *struct {
			ActivityDomain string `json:"activityDomain"`
			TimeSlots      []struct {
				Start dateTimeTZIn `json:"start"`
				End   dateTimeTZIn `json:"end"`
			} `json:"timeSlots"`
		} `json:"timeConstraint"`
		MeetingDuration           string   `json:"meetingDuration"`
		MaxCandidates             int      `json:"maxCandidates"`
		IsOrganizerOptional       bool     `json:"isOrganizerOptional"`
		ReturnSuggestionReasons   bool     `json:"returnSuggestionReasons"`
		MinimumAttendeePercentage *float64 `json:"minimumAttendeePercentage"`
	}
	if res := s.readJSONBody(rc, &req); res != nil {
		return res
	}
	dur := 30 * time.Minute
	if req.MeetingDuration != "" {
		d, ok := parseISODuration(req.MeetingDuration)
		if !ok {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "The meetingDuration '"+req.MeetingDuration+"' is not valid.")
		}
		dur = d
	}
	minPct := 50.0
	if req.MinimumAttendeePercentage != nil {
		minPct = *req.MinimumAttendeePercentage
	}
	if rc.me == "" && s.auth.Load() != nil && s.auth.Load().userOf != nil {
		return s.fail(rc, http.StatusForbidden, "ErrorAccessDenied", "findMeetingTimes does not support application permissions.")
	}
	type slot struct{ start, end time.Time }
	var slots []slot
	domain := "work"
	if tc := req.TimeConstraint; tc != nil {
		domain = cmp.Or(tc.ActivityDomain, "work")
		for _, ts := range tc.TimeSlots {
			a, _, ok1 := parseDateTimeTZ(ts.Start)
			b, _, ok2 := parseDateTimeTZ(ts.End)
			if !ok1 || !ok2 || !a.Before(b) {
				return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "A time slot is not valid.")
			}
			slots = append(slots, slot{a, b})
		}
	}
	if len(slots) == 0 {
		now := s.now().UTC()
		slots = []slot{{now, now.Add(2 * 24 * time.Hour)}}
	}
	return s.inMailbox(rc, func(org *mailbox) *result {
		rctx := s.renderCtx(rc)
		orgSettings := s.settingsOf(org)
		type sugg struct {
			start      time.Time
			confidence float64
			orgAvail   string
			avail      []string
		}
		var out []sugg
		orgBlocked := true
		for _, sl := range slots {
			t := sl.start.Truncate(30 * time.Minute)
			if t.Before(sl.start) {
				t = t.Add(30 * time.Minute)
			}
			for ; !t.Add(dur).After(sl.end); t = t.Add(30 * time.Minute) {
				if domain == "work" && !inWorkingHours(orgSettings, t, t.Add(dur)) {
					continue
				}
				orgAvail := statusIn(busyIn(org, t, t.Add(dur)), t, t.Add(dur))
				if orgAvail != "free" && !req.IsOrganizerOptional {
					continue
				}
				orgBlocked = false
				free, n := 0, 0
				avail := make([]string, len(req.Attendees))
				for i, a := range req.Attendees {
					mb := s.mailboxByAddress(rc, a.EmailAddress.Address)
					if mb == nil {
						avail[i] = "unknown"
						continue
					}
					avail[i] = statusIn(busyIn(mb, t, t.Add(dur)), t, t.Add(dur))
					if strings.EqualFold(a.Type, "optional") {
						continue
					}
					n++
					if avail[i] == "free" {
						free++
					}
				}
				conf := 100.0
				if n > 0 {
					conf = 100 * float64(free) / float64(n)
				}
				if conf < minPct || conf == 0 {
					continue
				}
				out = append(out, sugg{t, conf, orgAvail, avail})
			}
		}
		slices.SortStableFunc(out, func(a, b sugg) int {
			if c := cmp.Compare(b.confidence, a.confidence); c != 0 {
				return c
			}
			return a.start.Compare(b.start)
		})
		if req.MaxCandidates > 0 && len(out) > req.MaxCandidates {
			out = out[:req.MaxCandidates]
		}
		reason := ""
		if len(out) == 0 {
			reason = "attendeesUnavailable"
			if orgBlocked {
				reason = "organizerUnavailable"
			}
		}
		b := []byte(`{"@odata.context":`)
		b = appendString(b, s.metadata(rc, "microsoft.graph.meetingTimeSuggestionsResult"))
		b = append(b, `,"emptySuggestionsReason":`...)
		b = appendString(b, reason)
		b = append(b, `,"meetingTimeSuggestions":`...)
		b = appendArray(b, out, func(b []byte, sg sugg) []byte {
			b = append(b, `{"confidence":`...)
			b = strconv.AppendFloat(b, sg.confidence, 'f', 1, 64)
			b = append(b, `,"organizerAvailability":`...)
			b = appendString(b, sg.orgAvail)
			if req.ReturnSuggestionReasons {
				b = append(b, `,"suggestionReason":"Suggested because it is one of the nearest times when all attendees are available."`...)
			}
			b = append(b, `,"meetingTimeSlot":{"start":`...)
			b = eventDateTime(b, sg.start, rctx)
			b = append(b, `,"end":`...)
			b = eventDateTime(b, sg.start.Add(dur), rctx)
			b = append(b, `},"attendeeAvailability":`...)
			b = appendArray(b, req.Attendees, func(b []byte, a attendeeIn) []byte {
				i := slices.IndexFunc(req.Attendees, func(x attendeeIn) bool { return x.EmailAddress == a.EmailAddress })
				b = append(b, `{"availability":`...)
				b = appendString(b, sg.avail[i])
				b = append(b, `,"attendee":{"type":`...)
				b = appendString(b, cmp.Or(a.Type, "required"))
				b = append(b, `,"emailAddress":`...)
				b = appendEmail(b, Address(a.EmailAddress))
				return append(b, "}}"...)
			})
			return append(b, `,"locations":[]}`...)
		})
		return jsonResult(append(b, '}'))
	})
}
