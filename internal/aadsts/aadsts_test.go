package aadsts

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		code int
		text string
	}{
		{"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 0f1e\r\nCorrelation ID: 9a8b\r\nTimestamp: 2026-11-24 12:00:00Z",
			700082, "The refresh token has expired due to inactivity."},
		{"AADSTS65001: The user or administrator has not consented. Trace ID: 0f1e Correlation ID: 9a8b Timestamp: 2026-11-24 12:00:00Z",
			65001, "The user or administrator has not consented."},
		{"AADSTS50105:The signed in user is not assigned\nto a role for the application.", 50105, "The signed in user is not assigned to a role for the application."},
		{"The user has denied access to the scope requested by the client application.", 0, "The user has denied access to the scope requested by the client application."},
		{"AADSTSxyz: not a code", 0, "AADSTSxyz: not a code"},
		{"AADSTS50076 without a colon", 0, "AADSTS50076 without a colon"},
		{"  ", 0, ""},
	}
	for _, tt := range tests {
		code, text := Parse(tt.in)
		assert.Equal(t, tt.code, code, tt.in)
		assert.Equal(t, tt.text, text, tt.in)
	}
}

// FuzzParse holds Parse to what its callers rely on: no line breaks and no
// trace ID in the text, a code only when the description starts with
// AADSTS and that number, and a text that is part of the description.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "AADSTS700082: The refresh token has expired.\r\nTrace ID: 1\r\nCorrelation ID: 2",
		"AADSTS0: zero", "AADSTS-5: minus", "AADSTS50173:", "plain text\nwith a break", "AADSTS12x: no", " AADSTS65001: consent"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, text := Parse(s)
		if strings.ContainsAny(text, "\r\n") {
			t.Fatalf("Parse(%q) text %q has a line break", s, text)
		}
		if strings.Contains(text, " Trace ID:") {
			t.Fatalf("Parse(%q) text %q keeps the trace ID", s, text)
		}
		if code < 0 {
			t.Fatalf("Parse(%q) code %d", s, code)
		}
		flat := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
		if code > 0 {
			num, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(flat), "AADSTS"), ":")
			if n, err := strconv.Atoi(num); !strings.HasPrefix(strings.TrimSpace(flat), "AADSTS") || err != nil || n != code {
				t.Fatalf("Parse(%q) code %d is not the number after its leading AADSTS", s, code)
			}
		}
		if !strings.Contains(flat, text) {
			t.Fatalf("Parse(%q) text %q is not part of it", s, text)
		}
	})
}
