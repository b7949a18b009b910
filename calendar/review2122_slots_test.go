package calendar_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/calendar"
)

func TestReview2122FreeSlotsBoundaries(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	window := calendar.TimeRange{Start: at(23, 0, 0), End: at(25, 0, 0)}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	// Night shift Monday 22:00 to Tuesday 06:00 UTC; adjacent busy blocks 23:00-00:00 and 00:00-01:00.
	night := calendar.Schedule{Address: "n@x", WorkingHours: &calendar.WorkingHours{Days: []time.Weekday{time.Monday},
		Start: 22 * time.Hour, End: 6 * time.Hour, Location: time.UTC},
		Busy: []calendar.BusyBlock{{TimeRange: calendar.TimeRange{Start: at(23, 23, 0), End: at(24, 0, 0)}, Status: calendar.Busy},
			{TimeRange: calendar.TimeRange{Start: at(24, 0, 0), End: at(24, 1, 0)}, Status: calendar.OutOfOffice}}}
	// Tokyo day worker: 08:00-17:00 JST Tuesday = Monday 23:00 - Tuesday 08:00 UTC.
	day := calendar.Schedule{Address: "d@x", WorkingHours: &calendar.WorkingHours{Days: []time.Weekday{time.Tuesday},
		Start: 8 * time.Hour, End: 17 * time.Hour, Location: tokyo}}
	got, err := calendar.FreeSlots(window, []calendar.Schedule{night, day}, calendar.SlotOptions{WorkingHoursOnly: true, Length: 30 * time.Minute})
	require.NoError(t, err)
	assert.Equal(t, []calendar.TimeRange{{Start: at(24, 1, 0), End: at(24, 6, 0)}}, got)
}
