package tz_test

import (
	"sync"
	"testing"
	"time"
	// The zone database the tests expect, whatever the machine has: the
	// package itself leaves that choice to the program (see doc.go).
	_ "time/tzdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/tz"
)

func TestIANA(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Windows IDs, their golden zone.
		{"Pacific Standard Time", "America/Los_Angeles"},
		{"pacific standard time", "America/Los_Angeles"},
		{"PACIFIC STANDARD TIME", "America/Los_Angeles"},
		{"W. Europe Standard Time", "Europe/Berlin"},
		{"Romance Standard Time", "Europe/Paris"},
		{"Eastern Standard Time", "America/New_York"},
		{"GMT Standard Time", "Europe/London"},
		{"Tokyo Standard Time", "Asia/Tokyo"},
		{"India Standard Time", "Asia/Calcutta"},
		{"FLE Standard Time", "Europe/Kiev"},
		{"AUS Eastern Standard Time", "Australia/Sydney"},
		{"Yukon Standard Time", "America/Whitehorse"},
		{"Mountain Standard Time (Mexico)", "America/Mazatlan"},
		{"Central Standard Time (Mexico)", "America/Mexico_City"},
		{"UTC-11", "Etc/GMT+11"},
		{"UTC+12", "Etc/GMT-12"},
		// UTC in Go's spelling, whichever way Graph writes it.
		{"UTC", "UTC"},
		{"utc", "UTC"},
		{"tzone://Microsoft/Utc", "UTC"},
		{"TZONE://MICROSOFT/UTC", "UTC"},
		// IANA names: CLDR's case when CLDR lists them, else as given.
		{"America/Los_Angeles", "America/Los_Angeles"},
		{"europe/paris", "Europe/Paris"},
		{"Etc/UTC", "Etc/UTC"},
		{"Etc/GMT+5", "Etc/GMT+5"},
		{"Asia/Calcutta", "Asia/Calcutta"},
		{"Asia/Kolkata", "Asia/Kolkata"},
		{"asia/kolkata", "Asia/Kolkata"},
		{"America/Coyhaique", "America/Coyhaique"},
	}
	for _, tt := range tests {
		got, ok := tz.IANA(tt.in)
		assert.True(t, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestIANAUnknown(t *testing.T) {
	for _, in := range []string{
		"", "Local", "local", "Pacific Standard", "Pacific Standard Time ", " UTC",
		"Mars/Olympus_Mons", "tzone://Microsoft/Custom", "Customized Time Zone",
		"America//New_York", "./UTC", "../UTC", "/etc/localtime", "America/New_York\x00",
	} {
		got, ok := tz.IANA(in)
		assert.False(t, ok, "%q", in)
		assert.Empty(t, got, "%q", in)
	}
}

func TestWindows(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"America/Los_Angeles", "Pacific Standard Time"},
		{"america/los_angeles", "Pacific Standard Time"},
		{"America/Vancouver", "Pacific Standard Time"}, // territory CA
		{"Europe/Berlin", "W. Europe Standard Time"},
		{"Europe/Busingen", "W. Europe Standard Time"}, // second zone of the DE row
		{"Europe/Zurich", "W. Europe Standard Time"},
		{"Africa/Ceuta", "Romance Standard Time"},
		{"America/Chihuahua", "Central Standard Time (Mexico)"}, // its row ends in a space
		{"America/Ciudad_Juarez", "Mountain Standard Time"},
		{"Asia/Calcutta", "India Standard Time"},
		{"Asia/Kolkata", "India Standard Time"},
		{"ASIA/KOLKATA", "India Standard Time"},
		{"Europe/Kiev", "FLE Standard Time"},
		{"Europe/Kyiv", "FLE Standard Time"},
		{"America/Argentina/Buenos_Aires", "Argentina Standard Time"},
		{"America/Nuuk", "Greenland Standard Time"},
		{"Pacific/Kanton", "UTC+13"},
		{"Etc/GMT+5", "SA Pacific Standard Time"}, // territory ZZ
		{"Etc/UTC", "UTC"},
		{"Etc/GMT", "UTC"},
		{"UTC", "UTC"},
		{"GMT", "UTC"},
		{"tzone://Microsoft/Utc", "UTC"},
		// Windows IDs come back as CLDR spells them.
		{"Pacific Standard Time", "Pacific Standard Time"},
		{"w. europe standard time", "W. Europe Standard Time"},
	}
	for _, tt := range tests {
		got, ok := tz.Windows(tt.in)
		assert.True(t, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestWindowsUnknown(t *testing.T) {
	for _, in := range []string{
		"", "Local", "US/Pacific", "Mars/Olympus_Mons", "tzone://Microsoft/Custom",
		"America/Coyhaique", // tz 2025b; this CLDR copy predates it
		" America/Los_Angeles",
	} {
		got, ok := tz.Windows(in)
		assert.False(t, ok, "%q", in)
		assert.Empty(t, got, "%q", in)
	}
}

func TestLocationDST(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		jan, jul time.Duration
	}{
		{"Pacific Standard Time", "America/Los_Angeles", -8 * time.Hour, -7 * time.Hour},
		{"W. Europe Standard Time", "Europe/Berlin", 1 * time.Hour, 2 * time.Hour},
		{"AUS Eastern Standard Time", "Australia/Sydney", 11 * time.Hour, 10 * time.Hour},
		{"India Standard Time", "Asia/Calcutta", 5*time.Hour + 30*time.Minute, 5*time.Hour + 30*time.Minute},
		{"tzone://Microsoft/Utc", "UTC", 0, 0},
		{"Asia/Kolkata", "Asia/Kolkata", 5*time.Hour + 30*time.Minute, 5*time.Hour + 30*time.Minute},
	}
	for _, tt := range tests {
		loc, ok := tz.Location(tt.name)
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.zone, loc.String(), tt.name)
		for _, c := range []struct {
			at   time.Time
			want time.Duration
		}{
			{time.Date(2026, time.January, 15, 12, 0, 0, 0, time.UTC), tt.jan},
			{time.Date(2026, time.July, 15, 12, 0, 0, 0, time.UTC), tt.jul},
		} {
			_, off := c.at.In(loc).Zone()
			assert.Equal(t, c.want, time.Duration(off)*time.Second, "%s at %s", tt.name, c.at)
		}
	}
}

func TestLocationShared(t *testing.T) {
	utc, ok := tz.Location("UTC")
	require.True(t, ok)
	assert.Same(t, time.UTC, utc)

	pst, ok := tz.Location("Pacific Standard Time")
	require.True(t, ok)
	for _, name := range []string{"pacific standard time", "America/Los_Angeles", "america/los_angeles"} {
		loc, ok := tz.Location(name)
		require.True(t, ok, name)
		assert.Same(t, pst, loc, name)
	}

	for _, name := range []string{"", "Local", "Mars/Olympus_Mons", "tzone://Microsoft/Custom"} {
		loc, ok := tz.Location(name)
		assert.False(t, ok, "%q", name)
		assert.Nil(t, loc, "%q", name)
	}
}

// TestLocationConcurrent is for the race detector: first loads of the same
// zones from many goroutines must agree on one *time.Location each.
func TestLocationConcurrent(t *testing.T) {
	names := []string{"Tokyo Standard Time", "Asia/Tokyo", "Romance Standard Time", "Europe/Paris", "Etc/GMT-3"}
	const workers = 8
	got := make([][]*time.Location, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, n := range names {
				loc, _ := tz.Location(n)
				got[w] = append(got[w], loc)
			}
		})
	}
	wg.Wait()
	for w := range workers {
		require.Len(t, got[w], len(names))
		for i := range names {
			require.NotNil(t, got[w][i], names[i])
			assert.Same(t, got[0][i], got[w][i], names[i])
		}
	}
	assert.Same(t, got[0][0], got[0][1])
	assert.Same(t, got[0][2], got[0][3])
}
