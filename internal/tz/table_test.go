package tz

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTable checks the embedded file as a whole: its size (update the
// counts with the data), every golden round trip, and that every IANA zone in
// it, and every alias, maps back and loads.
func TestTable(t *testing.T) {
	tb := data()
	assert.Len(t, tb.windows, 139)
	assert.Len(t, tb.golden, 139)
	assert.Len(t, tb.reverse, 445+len(aliases))

	for key, w := range tb.windows {
		z, ok := IANA(w)
		require.True(t, ok, w)
		if w == "UTC" {
			assert.Equal(t, "UTC", z)
		} else {
			assert.Equal(t, tb.golden[key], z, w)
		}
		back, ok := Windows(z)
		require.True(t, ok, "%s → %s", w, z)
		assert.Equal(t, w, back, "%s → %s → %s", w, z, back)
		again, ok := IANA(z)
		require.True(t, ok, z)
		assert.Equal(t, z, again, "%s is its own IANA name", z)
	}
	for key, z := range tb.iana {
		_, err := time.LoadLocation(z)
		require.NoError(t, err, z)
		w, ok := Windows(z)
		require.True(t, ok, z)
		assert.Equal(t, tb.reverse[key], w, z)
	}
}

// TestAliases holds aliases.go to its doc: each alias is a name the file
// does not list, for a zone the file does list, and the two names load and
// keep the same offsets and abbreviations at every transition from 1970 to
// 2100 (the tz database can differ before 1970 between a zone and a link
// kept with its own history).
func TestAliases(t *testing.T) {
	parsed, err := parse(windowsZonesXML)
	require.NoError(t, err)
	from := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for alias, target := range aliases {
		assert.NotContains(t, parsed.iana, strings.ToLower(alias), alias)
		assert.Equal(t, target, parsed.iana[strings.ToLower(target)], "%s → %s", alias, target)
		a, err := time.LoadLocation(alias)
		require.NoError(t, err, alias)
		b, err := time.LoadLocation(target)
		require.NoError(t, err, target)
		assert.Equal(t, transitions(b, from, to), transitions(a, from, to), "%s vs %s", alias, target)
	}
}

// transitions lists when loc's offset or abbreviation changes in [from, to).
func transitions(loc *time.Location, from, to time.Time) []string {
	var out []string
	last := ""
	for at := from; at.Before(to); {
		local := at.In(loc)
		name, off := local.Zone()
		if zone := name + " " + strconv.Itoa(off); zone != last {
			out = append(out, at.UTC().Format(time.RFC3339)+" "+zone)
			last = zone
		}
		_, end := local.ZoneBounds()
		if end.IsZero() {
			break
		}
		if !end.After(at) {
			// ZoneBounds can return an end at or before the instant on the
			// last day of a leap year past the zone's last explicit
			// transition (golang/go#81583): step over it.
			end = at.Add(time.Hour)
		}
		at = end
	}
	return out
}

func TestParseErrors(t *testing.T) {
	row := func(other, territory, typ string) string {
		return `<mapZone other="` + other + `" territory="` + territory + `" type="` + typ + `"/>`
	}
	doc := func(rows ...string) []byte {
		return []byte(`<supplementalData><windowsZones><mapTimezones>` + strings.Join(rows, "") +
			`</mapTimezones></windowsZones></supplementalData>`)
	}
	tests := []struct {
		name string
		doc  []byte
		want string
	}{
		{"empty", nil, "no mapZone elements"},
		{"not XML", []byte("windows,iana\n"), "no mapZone elements"},
		{"truncated", doc(row("A", "001", "Etc/UTC"))[:60], "unexpected EOF"},
		{"unclosed", []byte(`<a>` + row("A", "001", "Etc/UTC") + `</b>`), "element <a> closed by </b>"},
		{"no other", doc(`<mapZone territory="001" type="Etc/UTC"/>`), `mapZone with other=""`},
		{"padded other", doc(row(" A", "001", "Etc/UTC")), `mapZone with other=" A"`},
		{"no territory", doc(`<mapZone other="A" type="Etc/UTC"/>`), `mapZone "A" without a territory`},
		{"blank type", doc(row("A", "001", "  ")), `mapZone "A" without a type`},
		{"two golden zones", doc(row("A", "001", "Etc/UTC Etc/GMT")), `golden row of "A" lists 2 zones`},
		{"two golden rows", doc(row("A", "001", "Etc/UTC"), row("A", "001", "Etc/GMT")), `two golden rows for "A"`},
		{"no golden row", doc(row("A", "001", "Etc/UTC"), row("B", "ZZ", "Etc/GMT")), `no golden row for "B"`},
		{"windows case", doc(row("A", "001", "Etc/UTC"), row("a", "ZZ", "Etc/GMT")), `windows zone "a" also spelled "A"`},
		{"iana case", doc(row("A", "001", "Etc/UTC"), row("A", "ZZ", "etc/utc")), `IANA zone "etc/utc" also spelled "Etc/UTC"`},
	}
	for _, tt := range tests {
		_, err := parse(tt.doc)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
}

func TestParseOrder(t *testing.T) {
	// A zone listed under two Windows zones maps back to the one that calls
	// it its default, whatever the order of the rows.
	tb, err := parse([]byte(`<r>
		<mapZone other="B" territory="XX" type="Zone/One Zone/Two"/>
		<mapZone other="A" territory="001" type="Zone/One"/>
		<mapZone other="B" territory="001" type="Zone/Three"/>
		<mapZone other="C" territory="001" type="Zone/Four"/>
		<mapZone other="C" territory="YY" type="  Zone/Two  "/>
	</r>`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "A", "b": "B", "c": "C"}, tb.windows)
	assert.Equal(t, map[string]string{"a": "Zone/One", "b": "Zone/Three", "c": "Zone/Four"}, tb.golden)
	assert.Equal(t, map[string]string{"zone/one": "A", "zone/two": "B", "zone/three": "B", "zone/four": "C"}, tb.reverse)
	assert.Equal(t, map[string]string{"zone/one": "Zone/One", "zone/two": "Zone/Two", "zone/three": "Zone/Three", "zone/four": "Zone/Four"}, tb.iana)
}

// FuzzParse: parse never panics, and a table it returns keeps the invariants
// the lookups rely on. Whether the names are real zones is not parse's to
// check (FuzzLookup holds the embedded data to that).
//
// Run it with a bounded minimization, e.g.
//
//	go test -run XXX -fuzz FuzzParse -fuzzminimizetime 200x ./internal/tz/
//
// By default the fuzzer spends up to a minute shrinking each new input, and
// inputs grown from the 50 KB seed kept it shrinking (no executions counted)
// for most of a run.
func FuzzParse(f *testing.F) {
	f.Add(windowsZonesXML)
	f.Add(windowsZonesXML[:2048])
	f.Add([]byte(`<r><mapZone other="A" territory="001" type="Zone/One"/><mapZone other="A" territory="ZZ" type="Zone/One Zone/Two "/></r>`))
	f.Add([]byte(`<r><mapZone other="A&amp;B" territory="001" type="X&#x9;Y"/></r>`))
	f.Add([]byte(`<!DOCTYPE r SYSTEM "x.dtd"><r><!-- c --><mapZone other="A" territory="001" type="Z"/></r>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		tb, err := parse(doc)
		if err != nil {
			return
		}
		if len(tb.windows) == 0 || len(tb.golden) != len(tb.windows) {
			t.Fatalf("%d windows zones, %d golden", len(tb.windows), len(tb.golden))
		}
		for key, w := range tb.windows {
			if w == "" || strings.ToLower(w) != key {
				t.Fatalf("windows[%q] = %q", key, w)
			}
			z := tb.golden[key]
			if !zoneLike(z) {
				t.Fatalf("golden[%q] = %q", key, z)
			}
			if _, ok := tb.reverse[strings.ToLower(z)]; !ok {
				t.Fatalf("golden zone %q of %q does not map back", z, w)
			}
		}
		if len(tb.reverse) != len(tb.iana) {
			t.Fatalf("%d reverse entries, %d IANA names", len(tb.reverse), len(tb.iana))
		}
		for key, z := range tb.iana {
			if !zoneLike(z) || strings.ToLower(z) != key {
				t.Fatalf("iana[%q] = %q", key, z)
			}
			if _, ok := tb.windows[strings.ToLower(tb.reverse[key])]; !ok {
				t.Fatalf("%q maps to %q, not a windows zone", z, tb.reverse[key])
			}
		}
	})
}

func zoneLike(z string) bool {
	return z != "" && strings.IndexFunc(z, unicode.IsSpace) < 0
}

// FuzzLookup: whatever the name, the lookups do not panic, every IANA name
// they give loads with time.LoadLocation, a Windows ID they give converts
// back, and Location agrees with IANA.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"Pacific Standard Time", "pacific standard time", "UTC", "tzone://Microsoft/Utc",
		"Europe/Paris", "asia/kolkata", "Etc/GMT+5", "", "Local", "../UTC", "America//New_York", "US/Pacific",
		"tzone://Microsoft/Custom", "UTC+12", "Central Standard Time (Mexico)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		z, ok := IANA(name)
		if ok {
			if _, err := time.LoadLocation(z); err != nil || z == "" || z == "Local" {
				t.Fatalf("IANA(%q) = %q, which does not load: %v", name, z, err)
			}
		} else if z != "" {
			t.Fatalf("IANA(%q) = %q, false", name, z)
		}
		loc, locOK := Location(name)
		if locOK != ok || ok && loc.String() != z {
			t.Fatalf("Location(%q) = %v, %v; IANA gave %q, %v", name, loc, locOK, z, ok)
		}
		w, ok := Windows(name)
		if !ok {
			if w != "" {
				t.Fatalf("Windows(%q) = %q, false", name, w)
			}
			return
		}
		wz, ok := IANA(w)
		if !ok {
			t.Fatalf("Windows(%q) = %q, which IANA refuses", name, w)
		}
		if back, _ := Windows(wz); back != w {
			t.Fatalf("Windows(%q) = %q → %q → %q", name, w, wz, back)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := parse(windowsZonesXML); err != nil {
			b.Fatal(err)
		}
	}
}
