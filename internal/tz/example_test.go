package tz_test

import (
	"fmt"
	"time"

	"github.com/m365link/m365link/internal/tz"
)

// A mailbox's time zone comes back from Graph as a Windows ID or an IANA
// name; Location takes either. Windows gives the ID for a Prefer:
// outlook.timezone header from an IANA name.
func Example() {
	iana, _ := tz.IANA("Pacific Standard Time")
	fmt.Println(iana)

	windows, _ := tz.Windows("Europe/Paris")
	fmt.Println(windows)

	windows, _ = tz.Windows("Asia/Kolkata") // CLDR lists it as Asia/Calcutta
	fmt.Println(windows)

	loc, _ := tz.Location("W. Europe Standard Time")
	noon := time.Date(2026, time.July, 1, 12, 0, 0, 0, time.UTC)
	fmt.Println(noon.In(loc).Format("15:04 MST"))

	_, ok := tz.IANA("tzone://Microsoft/Custom")
	fmt.Println(ok)
	// Output:
	// America/Los_Angeles
	// Romance Standard Time
	// India Standard Time
	// 14:00 CEST
	// false
}
