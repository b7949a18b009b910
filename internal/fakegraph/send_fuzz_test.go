package fakegraph

import (
	"strconv"
	"strings"
	"testing"
)

func propFilterText(varName, id, value string, valueFirst bool) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	a, b := varName+"/id eq "+q(id), varName+"/value eq "+q(value)
	if valueFirst {
		a, b = b, a
	}
	return "singleValueExtendedProperties/Any(" + varName + ": " + a + " and " + b + ")"
}

func TestParsePropFilterText(t *testing.T) {
	f, ok, err := parsePropFilterText(propFilterText("ep", "String {x} Name K", "it's", false))
	if !ok || err != nil || f != (propFilter{"String {x} Name K", "it's"}) {
		t.Fatalf("got %+v %v %v", f, ok, err)
	}
	if _, ok, _ := parsePropFilterText("receivedDateTime ge 2026-01-01T00:00:00Z"); ok {
		t.Fatal("a receivedDateTime filter is not a property filter")
	}
	for _, bad := range []string{
		"singleValueExtendedProperties/Any(ep: ep/id eq 'a')",
		"singleValueExtendedProperties/Any(ep: ep/id eq 'a' and ep/id eq 'b')",
		"singleValueExtendedProperties/Any(ep: ep/id eq 'a' and ep/value eq 'b'",
		"singleValueExtendedProperties/Any(ep: ep/id eq 'a and ep/value eq 'b')",
		"singleValueExtendedProperties/Any(ep: x/id eq 'a' and x/value eq 'b')",
	} {
		if _, ok, err := parsePropFilterText(bad); !ok || err == nil {
			t.Errorf("%q: ok=%v err=%v, want a refusal", bad, ok, err)
		}
	}
}

// FuzzParsePropFilterText: whatever a client writes by OData's quoting
// rules reads back as the same ID and value, in either order; and any
// text the parser accepts holds what it read, quoted.
func FuzzParsePropFilterText(f *testing.F) {
	f.Add("String {2f2a4c1e-7d0b-4c3a-9d5e-0a1b2c3d4e5f} Name K", "key-1", "ep", false)
	f.Add("a'b", "''", "x", true)
	f.Add("", "", "e", false)
	f.Fuzz(func(t *testing.T, id, value, varName string, valueFirst bool) {
		if !identifier(varName) {
			varName = "ep"
		}
		text := propFilterText(varName, id, value, valueFirst)
		got, ok, err := parsePropFilterText(text)
		if !ok || err != nil || got != (propFilter{id, value}) {
			t.Fatalf("%q: got %+v ok=%v err=%v", text, got, ok, err)
		}
		// Arbitrary text, when accepted, holds both literals as read:
		// the parser never invents or drops a character of them.
		got, ok, err = parsePropFilterText(id)
		q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
		if ok && err == nil && (!strings.Contains(id, q(got.id)) || !strings.Contains(id, q(got.value))) {
			t.Fatalf("%q accepted as %+v", id, got)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	a, b, c, ok := parseContentRange("bytes 0-4194303/20971520")
	if !ok || a != 0 || b != 4194303 || c != 20971520 {
		t.Fatalf("got %d %d %d %v", a, b, c, ok)
	}
	for _, bad := range []string{"", "bytes 5-4/10", "bytes 0-10/10", "bytes -1-4/10", "bytes +0-4/10", "bytes 0-4/", "items 0-4/10", "bytes 0 -4/10", "bytes */10"} {
		if _, _, _, ok := parseContentRange(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseContentRange: a header written from first <= last < total reads
// back as those numbers; anything accepted satisfies first <= last < total
// and renders back to the same text.
func FuzzParseContentRange(f *testing.F) {
	f.Add(int64(0), int64(0), int64(1), "bytes 0-0/1")
	f.Add(int64(4194304), int64(8388607), int64(20971520), "bytes 1-2/3")
	f.Fuzz(func(t *testing.T, a, b, c int64, raw string) {
		if a >= 0 && a <= b && b < c {
			text := "bytes " + strconv.FormatInt(a, 10) + "-" + strconv.FormatInt(b, 10) + "/" + strconv.FormatInt(c, 10)
			x, y, z, ok := parseContentRange(text)
			if !ok || x != a || y != b || z != c {
				t.Fatalf("%q: got %d %d %d %v", text, x, y, z, ok)
			}
		}
		x, y, z, ok := parseContentRange(raw)
		if !ok {
			return
		}
		if x < 0 || x > y || y >= z {
			t.Fatalf("%q accepted as %d-%d/%d", raw, x, y, z)
		}
		back := "bytes " + strconv.FormatInt(x, 10) + "-" + strconv.FormatInt(y, 10) + "/" + strconv.FormatInt(z, 10)
		if raw != back && !leadingZeros(raw) {
			t.Fatalf("%q accepted but renders as %q", raw, back)
		}
	})
}

// leadingZeros reports whether a number in a Content-Range has a leading
// zero, the one way two texts read as the same range.
func leadingZeros(s string) bool {
	s = strings.TrimPrefix(s, "bytes ")
	for _, n := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' }) {
		if len(n) > 1 && n[0] == '0' {
			return true
		}
	}
	return false
}

func identifier(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}
