package calendar

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseTimeOfDay accepts exactly Graph's timeOfDay shape, and what it
// accepts is a time of day that formats back to the same instant.
func FuzzParseTimeOfDay(f *testing.F) {
	for _, s := range []string{"08:00:00.0000000", "17:30:00", "23:59:59.9999999", "00:00:00.1", "24:00:00", "8:00:00", "08:00:00.", "08:00:00.00000000", "08:60:00", "ab:cd:ef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseTimeOfDay(s)
		if !ok {
			return
		}
		if d < 0 || d >= 24*time.Hour {
			t.Fatalf("%q → %v, outside a day", s, d)
		}
		if d%100 != 0 {
			t.Fatalf("%q → %v, finer than 100 ns", s, d)
		}
		canon := formatTimeOfDay(d)
		again, ok := parseTimeOfDay(canon)
		if !ok || again != d {
			t.Fatalf("%q → %v → %q → %v, %t", s, d, canon, again, ok)
		}
		// The whole-second part is read as written.
		if got := canon[:8]; got != s[:8] {
			t.Fatalf("%q formats back as %q", s, canon)
		}
		if len(s) > 8 && strings.TrimRight(canon[9:], "0") != strings.TrimRight(s[9:], "0") {
			t.Fatalf("%q: fraction %q formats back as %q", s, s[9:], canon[9:])
		}
	})
}

// lenientInt reads exactly the integers JSON numbers and quoted numbers
// spell, and nothing else.
func FuzzLenientInt(f *testing.F) {
	for _, s := range []string{"15", `"15"`, "null", "-3", "1e2", `" 7 "`, "1.5", `""`, "true", `"x"`, "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n lenientInt
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			return
		}
		var plain any
		if err := json.Unmarshal([]byte(s), &plain); err != nil {
			t.Fatalf("%q is not JSON, yet read as %d", s, n)
		}
		switch v := plain.(type) {
		case nil:
			if n != 0 {
				t.Fatalf("null read as %d", n)
			}
		case float64:
			if float64(n) != v {
				t.Fatalf("%q read as %d", s, n)
			}
		case string:
			want, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || float64(n) != want {
				t.Fatalf("%q read as %d", s, n)
			}
		default:
			t.Fatalf("%q (%T) read as %d", s, plain, n)
		}
	})
}
