package calendar_test

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the round trips must not depend on the machine's zone database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/calendar"
)

// cldrRows reads the embedded CLDR table itself, with a parser of its own,
// so that the round trips check the package against the data, not against
// internal/tz's reading of it.
func cldrRows(t *testing.T) []struct{ Windows, Territory, Zones string } {
	t.Helper()
	raw, err := os.ReadFile("../internal/tz/windowsZones.xml")
	require.NoError(t, err)
	var doc struct {
		Rows []struct {
			Windows   string `xml:"other,attr"`
			Territory string `xml:"territory,attr"`
			Zones     string `xml:"type,attr"`
		} `xml:"windowsZones>mapTimezones>mapZone"`
	}
	require.NoError(t, xml.Unmarshal(raw, &doc))
	out := make([]struct{ Windows, Territory, Zones string }, len(doc.Rows))
	for i, r := range doc.Rows {
		out[i] = struct{ Windows, Territory, Zones string }{r.Windows, r.Territory, r.Zones}
	}
	return out
}

// Every Windows zone of the table maps to its default IANA zone and back,
// and every IANA zone of every row maps to its Windows zone and loads.
func TestWindowsIANARoundTripsForEveryZone(t *testing.T) {
	rows := cldrRows(t)
	golden := 0
	for _, r := range rows {
		zones := strings.Fields(r.Zones)
		if r.Territory == "001" {
			golden++
			want := zones[0]
			if r.Windows == "UTC" {
				want = "UTC"
			}
			iana, ok := calendar.IANAZone(r.Windows)
			require.True(t, ok, r.Windows)
			assert.Equal(t, want, iana, r.Windows)
			back, ok := calendar.WindowsZone(iana)
			require.True(t, ok, iana)
			assert.Equal(t, r.Windows, back, "%s → %s → %s", r.Windows, iana, back)
			upper, ok := calendar.IANAZone(strings.ToUpper(r.Windows))
			assert.True(t, ok)
			assert.Equal(t, want, upper, "Windows IDs match in any case")
		}
		for _, z := range zones {
			w, ok := calendar.WindowsZone(z)
			require.True(t, ok, z)
			assert.Equal(t, r.Windows, w, z)
			loc, ok := calendar.LoadZone(z)
			require.True(t, ok, z)
			_, err := time.LoadLocation(loc.String())
			assert.NoError(t, err, z)
		}
	}
	assert.Equal(t, 139, golden, "Windows zones in the table (update with the data)")
	_, ok := calendar.IANAZone("tzone://Microsoft/Custom")
	assert.False(t, ok)
	w, ok := calendar.WindowsZone("Asia/Kolkata")
	assert.True(t, ok)
	assert.Equal(t, "India Standard Time", w, "a current name CLDR spells the old way")
}
