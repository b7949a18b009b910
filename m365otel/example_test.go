package m365otel_test

import (
	"net/http"

	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365otel"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/tokens"
)

// Wiring the hooks: the Graph client's transport and retries, the token
// manager's refreshes, the engine's passes and its lag gauge.
func Example() {
	in, err := m365otel.New() // the global OpenTelemetry providers
	if err != nil {
		panic(err)
	}
	gc, err := graphclient.New(graphclient.Config{
		HTTPClient: &http.Client{Transport: in.Transport(graphclient.DefaultTransport())},
		OnRetry:    in.OnRetry,
	})
	if err != nil {
		panic(err)
	}
	tcfg := tokens.Config{ /* ClientID, Credential, Store, … */ OnRefresh: in.OnRefresh}
	scfg := m365sync.Config{Client: gc /* TenantID, Tokens, Sink, State, … */, OnPass: in.OnPass}
	_, _ = tcfg, scfg
	// After m365sync.New(scfg): reg, err := in.ObserveLag(engine); defer reg.Unregister()
}
