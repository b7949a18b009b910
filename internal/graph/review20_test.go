package graph

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

// Review 20, finding 2: an all-day event's dates when its zone is not
// one CLDR knows (tzone://Microsoft/Custom from an iCalendar invite with
// its own VTIMEZONE, or a Windows ID newer than the table). The engine
// asks Graph for UTC, so start/end arrive as the instants of local
// midnight. allDayDates then rounds the instant to the nearest UTC
// midnight, which is right only within ±12 h of UTC: east of +12 it
// names the day before. For +13 and +14 the UTC instant alone is
// ambiguous (10:00Z is midnight in Kiritimati +14 and in Honolulu -10),
// so those rows document what is lost by asking for UTC; the Chatham rows
// (+13:45 in summer, 10:15Z; no zone is at -13:45 or -9:45) are not
// ambiguous and still come out a day early.
func TestReview20AllDayDatesFarFromUTCInACustomZone(t *testing.T) {
	day := m365link.Date{Year: 2027, Month: time.January, Day: 15}
	next := m365link.Date{Year: 2027, Month: time.January, Day: 16}
	for _, tc := range []struct {
		name   string
		offset time.Duration // the custom zone's offset from UTC
		zone   string        // originalStartTimeZone
	}{
		// +13 and +14 share their UTC times with -11 and -10: the western
		// reading is taken (allDayDates says why), so these rows are the
		// ones west of the date line.
		{"Honolulu -10, custom", -10 * time.Hour, "tzone://Microsoft/Custom"},
		{"Niue -11, Windows name CLDR lacks", -11 * time.Hour, "Some Future Standard Time"},
		{"Chatham +13:45, custom", 13*time.Hour + 45*time.Minute, "tzone://Microsoft/Custom"},
		{"Chatham +12:45, custom", 12*time.Hour + 45*time.Minute, "tzone://Microsoft/Custom"},
		{"Tokyo +9, custom", 9 * time.Hour, "tzone://Microsoft/Custom"},
		{"New York -5, custom", -5 * time.Hour, "tzone://Microsoft/Custom"},
		// Controls: inside ±12 h the rounding works.
		{"Pago Pago -11, custom", -11 * time.Hour, "tzone://Microsoft/Custom"},
		{"Kiritimati +14, known", 14 * time.Hour, "Line Islands Standard Time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := time.FixedZone("custom", int(tc.offset/time.Second))
			start := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, loc).UTC()
			end := start.Add(24 * time.Hour)
			body := fmt.Sprintf(`{"value":[{"id":"e1","type":"singleInstance","subject":"Supplier holiday","isAllDay":true,
				"originalStartTimeZone":%q,"originalEndTimeZone":%q,
				"start":{"dateTime":%q,"timeZone":"UTC"},"end":{"dateTime":%q,"timeZone":"UTC"}}]}`,
				tc.zone, tc.zone, start.Format("2006-01-02T15:04:05.0000000"), end.Format("2006-01-02T15:04:05.0000000"))
			page, err := DecodePage[Event]([]byte(body))
			require.NoError(t, err)
			require.Len(t, page.Value, 1)
			ev := page.Value[0].Event
			assert.Equal(t, day, ev.StartDate, "start date")
			assert.Equal(t, next, ev.EndDate, "end date")
		})
	}
}
