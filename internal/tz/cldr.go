package tz

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// windowsZonesXML is CLDR's common/supplemental/windowsZones.xml; README.md
// names the commit it was copied from.
//
//go:embed windowsZones.xml
var windowsZonesXML []byte

// golden is the territory CLDR uses for a Windows zone's default IANA zone.
const golden = "001"

// table is what the lookups need from the CLDR file. Every map is keyed by a
// lower-cased name so that lookups can ignore case.
type table struct {
	// windows maps a Windows zone ID to itself as CLDR spells it.
	windows map[string]string
	// golden maps a Windows zone ID to the IANA zone of its "001" row.
	golden map[string]string
	// reverse maps every IANA zone in any row, and every alias added by
	// addAliases, to its Windows zone ID.
	reverse map[string]string
	// iana maps every IANA zone in any row, and every alias added by
	// addAliases, to itself as spelled there.
	iana map[string]string
}

// data parses the embedded file once, on first use: the decode takes about
// 1.5 ms and 0.5 MB of garbage (BenchmarkParse, on a busy 2-core machine),
// which a process that never converts a zone need not pay at start-up.
var data = sync.OnceValue(func() *table {
	t, err := parse(windowsZonesXML)
	if err != nil {
		// The file is part of the source and the tests parse it, so this is
		// a broken build, not a runtime condition to report.
		panic("tz: embedded windowsZones.xml: " + err.Error())
	}
	t.addAliases(aliases)
	return t
})

// mapZone is one <mapZone> row: a Windows zone ID, a territory ("001" for the
// default, a region code, or "ZZ") and the IANA zones it lists.
type mapZone struct {
	windows, territory string
	zones              []string
}

// parse reads a windowsZones.xml document. It refuses a file whose mapZone
// rows lack an attribute, whose Windows zone has no golden row or two, or
// whose golden row lists other than one IANA zone, so that [IANA] and
// [Windows] can trust every entry.
func parse(doc []byte) (*table, error) {
	rows, err := mapZones(doc)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no mapZone elements")
	}
	t := &table{
		windows: make(map[string]string),
		golden:  make(map[string]string),
		reverse: make(map[string]string),
		iana:    make(map[string]string),
	}
	for _, r := range rows {
		key := strings.ToLower(r.windows)
		if spelled, ok := t.windows[key]; ok && spelled != r.windows {
			return nil, fmt.Errorf("windows zone %q also spelled %q", r.windows, spelled)
		}
		t.windows[key] = r.windows
		if r.territory != golden {
			continue
		}
		if len(r.zones) != 1 {
			return nil, fmt.Errorf("golden row of %q lists %d zones", r.windows, len(r.zones))
		}
		if _, dup := t.golden[key]; dup {
			return nil, fmt.Errorf("two golden rows for %q", r.windows)
		}
		t.golden[key] = r.zones[0]
	}
	for key, spelled := range t.windows {
		if _, ok := t.golden[key]; !ok {
			return nil, fmt.Errorf("no golden row for %q", spelled)
		}
	}
	// Golden rows first, so that a zone some Windows zone calls its default
	// maps back to that Windows zone; then every other row in file order.
	// In the data as shipped no IANA zone is listed under two Windows zones,
	// so the order only matters for a future file.
	for _, goldenPass := range []bool{true, false} {
		for _, r := range rows {
			if (r.territory == golden) != goldenPass {
				continue
			}
			for _, z := range r.zones {
				zkey := strings.ToLower(z)
				if spelled, ok := t.iana[zkey]; ok && spelled != z {
					return nil, fmt.Errorf("IANA zone %q also spelled %q", z, spelled)
				}
				t.iana[zkey] = z
				if _, ok := t.reverse[zkey]; !ok {
					t.reverse[zkey] = r.windows
				}
			}
		}
	}
	return t, nil
}

// mapZones returns the mapZone elements of doc in document order. IANA
// zones are split on white space: CLDR lists several per row, and at least
// one row has a trailing space.
func mapZones(doc []byte) ([]mapZone, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var rows []mapZone
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return rows, nil
			}
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "mapZone" {
			continue
		}
		var r mapZone
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "other":
				r.windows = a.Value
			case "territory":
				r.territory = a.Value
			case "type":
				r.zones = strings.Fields(a.Value)
			}
		}
		line, _ := dec.InputPos()
		switch {
		case r.windows == "" || strings.TrimSpace(r.windows) != r.windows:
			return nil, fmt.Errorf("line %d: mapZone with other=%q", line, r.windows)
		case r.territory == "":
			return nil, fmt.Errorf("line %d: mapZone %q without a territory", line, r.windows)
		case len(r.zones) == 0:
			return nil, fmt.Errorf("line %d: mapZone %q without a type", line, r.windows)
		}
		rows = append(rows, r)
	}
}

// addAliases lets each alias stand for the zone it names: [Windows] maps it
// like its target and [IANA] corrects its case. An alias whose target the
// file does not list is left out (TestAliases fails on it).
func (t *table) addAliases(aliases map[string]string) {
	for alias, target := range aliases {
		w, ok := t.reverse[strings.ToLower(target)]
		if !ok {
			continue
		}
		key := strings.ToLower(alias)
		t.iana[key] = alias
		t.reverse[key] = w
	}
}
