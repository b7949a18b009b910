package graphclient_test

import (
	"fmt"
	"log/slog"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
)

// One client per process and cloud, shared by every package that calls
// Graph (pass it as Config.Client of sync, consent, ...).
func Example() {
	gc, err := graphclient.New(graphclient.Config{
		Cloud:  m365link.USGovL4,
		Retry:  graphclient.Retry{MaxAttempts: 8},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(gc)
	fmt.Println(gc.Cloud().AppScope())
	// Output:
	// graphclient.Client{usgov-l4 https://graph.microsoft.us/v1.0}
	// https://graph.microsoft.us/.default
}

// A token source from a string, for tests and scripts: it never prints
// the token.
func ExampleStaticToken() {
	ts := graphclient.StaticToken("eyJ0eXAi...")
	fmt.Println(ts)
	// Output: graphclient.StaticToken(redacted)
}
