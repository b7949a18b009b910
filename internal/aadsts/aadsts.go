package aadsts

import (
	"strconv"
	"strings"
)

// Parse splits an error_description such as
//
//	AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …
//
// into its AADSTS code (0 when it names none) and the description itself:
// line breaks read as spaces, without the code and without the trace and
// correlation IDs and timestamp, which identify one request to Microsoft
// and mean nothing to an admin.
func Parse(description string) (code int, text string) {
	text = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(description)
	if i := strings.Index(text, " Trace ID:"); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(text, "AADSTS"); ok {
		if num, after, ok := strings.Cut(rest, ":"); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				return n, strings.TrimSpace(after)
			}
		}
	}
	return 0, text
}
