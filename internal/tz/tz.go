package tz

import (
	"strings"
	"sync"
	"time"
)

// microsoftUTC is how Outlook names UTC in some time-zone fields.
const microsoftUTC = "tzone://Microsoft/Utc"

// IANA returns the IANA zone for name.
//
// For a Windows time-zone ID such as "Pacific Standard Time" (any case) it
// is CLDR's default zone for it, the one of territory "001"
// ("America/Los_Angeles"), spelled as CLDR spells it: CLDR keeps older IDs
// such as "Asia/Calcutta", which time.LoadLocation accepts as well. This needs
// no zone database.
//
// "UTC" and "tzone://Microsoft/Utc" (any case) give "UTC", the one zone
// time.LoadLocation knows without a zone database.
//
// Any other name is taken as an IANA name: IANA returns it if
// time.LoadLocation accepts it, in CLDR's case when CLDR lists it (or
// aliases.go does) and as given otherwise. "" and "Local", which
// time.LoadLocation maps to UTC and to the host's zone, are refused.
//
// For anything else, such as "tzone://Microsoft/Custom" or a custom zone's
// display name, IANA returns "", false.
func IANA(name string) (string, bool) {
	if strings.EqualFold(name, "UTC") || strings.EqualFold(name, microsoftUTC) {
		return "UTC", true
	}
	t := data()
	key := strings.ToLower(name)
	if z, ok := t.golden[key]; ok {
		return z, true
	}
	if z, ok := t.iana[key]; ok {
		name = z
	}
	if _, ok := load(name); !ok {
		return "", false
	}
	return name, true
}

// Windows returns the Windows time-zone ID for name, an IANA zone name (any
// case).
//
// Every territory's row of CLDR's table counts, not only the default one:
// "Europe/Paris", "Europe/Madrid" and "Africa/Ceuta" all give
// "Romance Standard Time". Current IANA names of zones CLDR lists under an
// older one ("Asia/Kolkata" for "Asia/Calcutta", "Europe/Kyiv" for
// "Europe/Kiev", and the other renames in aliases.go) map like the older name;
// "UTC", "Etc/UTC", "GMT" and "Etc/GMT" give "UTC". Other deprecated links
// ("US/Pacific") and zones newer than the table give "", false.
//
// A Windows ID (any case) or "tzone://Microsoft/Utc" is accepted too and
// returned as CLDR spells it, so Windows(name) works on a value that may be
// in either form. Windows never consults the zone database.
func Windows(name string) (string, bool) {
	if strings.EqualFold(name, microsoftUTC) {
		return "UTC", true
	}
	t := data()
	key := strings.ToLower(name)
	if w, ok := t.windows[key]; ok {
		return w, true
	}
	if w, ok := t.reverse[key]; ok {
		return w, true
	}
	return "", false
}

// Location returns the *time.Location for name, a Windows or IANA zone
// name as [IANA] accepts it. It needs a zone database (see the package doc).
// Locations are loaded once per zone and shared; Location is safe for
// concurrent use.
func Location(name string) (*time.Location, bool) {
	z, ok := IANA(name)
	if !ok {
		return nil, false
	}
	return load(z)
}

// locations caches the zones time.LoadLocation has loaded, by IANA name. Only
// successes are kept, so the cache holds at most the zones that exist,
// whatever names callers try.
var locations sync.Map // string → *time.Location

// load is time.LoadLocation for syntactically valid IANA names, cached.
func load(name string) (*time.Location, bool) {
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location), true
	}
	if !validName(name) {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	v, _ := locations.LoadOrStore(name, loc)
	return v.(*time.Location), true
}

// validName reports whether name has the form of a tz database name:
// components of ASCII letters, digits, '.', '_', '-' and '+', separated by
// single slashes, none of them "." or "..". It spares the disk a read for
// anything else, and keeps "" and "Local", which time.LoadLocation maps to
// UTC and the host's zone, and spellings such as "America//New_York", which
// it would accept from a zoneinfo directory, from being taken for zones.
func validName(name string) bool {
	if name == "" || name == "Local" || len(name) > 255 { // real names are under 40 bytes
		return false
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
		for _, c := range []byte(part) {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '.' || c == '_' || c == '-' || c == '+'
			if !ok {
				return false
			}
		}
	}
	return true
}
