package aadsts_test

import (
	"fmt"

	"github.com/m365link/m365link/internal/aadsts"
)

// An error_description as the token endpoint sends it: the code and the
// text an admin can act on, without the request's trace.
func ExampleParse() {
	code, text := aadsts.Parse("AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 0b6d…\r\nCorrelation ID: 5f1e…\r\nTimestamp: 2026-12-06 10:00:00Z")
	fmt.Println(code)
	fmt.Println(text)
	// Output:
	// 700082
	// The refresh token has expired due to inactivity.
}
