// Package calendar books meetings with vendor contacts in Microsoft 365:
// create, update, cancel and delete events in a user's calendar or a
// calendar shared with them, Teams meetings whose join link is confirmed,
// idempotent creates, availability (getSchedule, findMeetingTimes, and
// [FreeSlots] to intersect internal attendees' free time), mailbox time
// zones with Windows ↔ IANA mapping, and rooms.
//
// It rides on the library's one Graph client ([Config].Client, the
// graphclient handle sync shares), with lean wire types of its own: it
// does not import msgraph-sdk-go, and a host importing it compiles in
// seconds. Throttling, retries and the per-mailbox limiter are the ones
// sync uses, so a mailbox's calendar writes and its sync slow down
// together.
//
// # Calls
//
// Every method takes a context, the [TokenSource] of the account it acts
// as, and the mailbox it acts on (a user ID, as sync uses, or a UPN):
//
//	cal, err := calendar.New(calendar.Config{Client: gc})
//	ev, err := cal.Create(ctx, tok, userID, &calendar.Meeting{
//		Subject:   "Supply contract",
//		Start:     start, End: start.Add(time.Hour), TimeZone: "W. Europe Standard Time",
//		Attendees: []m365link.Attendee{{EmailAddress: vendorContact}},
//		Teams:     true,
//	}, &calendar.CreateOptions{Key: bookingID})
//
// # Safety
//
// Invitations go out when a meeting is created, and updates when it
// changes, so the package guards what would send them twice or to the
// wrong people: [CreateOptions].Key makes a create idempotent (a retried
// create after a timeout, a 503 or a crash finds the first one instead of
// booking another; creates of one key in one process take turns; across
// processes the host runs a key from one place at a time); a create
// without a key is still never resent blindly within its call;
// [Client.Update] sends only what changed and refuses to edit a meeting
// the mailbox does not organise unless asked ([WriteOptions]);
// [Client.Cancel] is the organizer's alone, and a cancel whose answer was
// lost is checked, not sent again.
//
// # Time zones
//
// Meetings are sent in the zone they are planned in ([Meeting].TimeZone,
// else the location of their start), as its Windows ID, so a weekly series
// keeps its hour across daylight saving time. [Client.MailboxSettings]
// reads the user's zone; [IANAZone], [WindowsZone] and [LoadZone] map
// between Windows and IANA names with CLDR's table. Availability answers
// come in the zone asked for (Prefer: outlook.timezone).
//
// # Errors
//
// Errors are *[Error] values. errors.Is matches this package's sentinels
// ([ErrCalendarNotFound], [ErrCalendarReadOnly], [ErrAttendeeLimit],
// [ErrNotOrganizer], [ErrTeamsUnavailable], [ErrJoinURLMissing],
// [ErrInvalid]) and, through the Graph answer behind one, the root
// package's: m365link.ErrMailboxNotEnabled, m365link.ErrThrottled
// (m365link.RetryAfter says how long), m365link.ErrNotFound,
// m365link.ErrConsentRequired. errors.As gives the *m365link.GraphError.
package calendar
