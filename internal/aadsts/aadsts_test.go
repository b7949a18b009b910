package aadsts

import (
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
