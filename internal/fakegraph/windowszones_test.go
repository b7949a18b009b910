package fakegraph

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every Windows ID the fake takes resolves to a zone that loads.
func TestEveryWindowsZoneLoads(t *testing.T) {
	assert.Len(t, windowsZones, 139)
	for id := range windowsZones {
		loc, name := zoneFor(id)
		if assert.NotNil(t, loc, id) {
			assert.Equal(t, id, name)
		}
	}
	loc, _ := zoneFor("Pacific SA Standard Time")
	assert.Equal(t, "America/Santiago", loc.String())
	loc, _ = zoneFor("UTC")
	assert.Equal(t, "UTC", loc.String())
}
