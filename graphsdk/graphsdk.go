package graphsdk

import (
	"errors"
	"fmt"
	"strconv"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
)

// Config configures the SDK client [New] returns.
type Config struct {
	// Client is the process's Graph handle, shared with sync, calendar and
	// mailsend; required. SDK calls ride on its transport and mailbox
	// limiter, and go to its cloud's Graph.
	Client *graphclient.Client
	// Token authenticates every call; required. For a tenant (app-only),
	// the tenant's source (tokens.Manager.Source(m365link.Account{TenantID:
	// tenant})); for a connected user (delegated), the user's. Its errors,
	// such as a *m365link.ReconnectError, are what the SDK call returns,
	// wrapped.
	Token graphclient.TokenSource
	// User is the connected user's object ID for a delegated client: calls
	// under /me are paced as that mailbox. Empty, it is taken from Token
	// when Token has an Account method (tokens.Source has); it stays empty
	// for app-only sources, whose /me calls Graph refuses anyway.
	User string
	// PageSize, when positive, is sent as Prefer: odata.maxpagesize=N on
	// every GET that asks for no page size of its own, the page iterator's
	// requests for later pages included (it drops the first request's
	// headers). Zero leaves page sizes to Graph (10 messages a page for
	// mail). See [PageSizeHeaders] for one call's own size.
	PageSize int
}

// New returns a ready msgraph-sdk-go client for cfg: authenticated by
// cfg.Token, on cfg.Client's cloud, transport and mailbox limiter. See the
// package documentation for how calls are paced, retried and redirected,
// and how their errors read.
func New(cfg Config) (*msgraphsdk.GraphServiceClient, error) {
	var errs []error
	gc := graph.FromHandle(cfg.Client)
	if gc == nil {
		errs = append(errs, errors.New("Client is required (a *graphclient.Client made by graphclient.New)"))
	}
	if cfg.Token == nil {
		errs = append(errs, errors.New("Token is required"))
	}
	if cfg.PageSize < 0 {
		errs = append(errs, fmt.Errorf("PageSize %d is negative", cfg.PageSize))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("graphsdk: %w", errors.Join(errs...))
	}
	user := cfg.User
	if a, ok := cfg.Token.(interface{ Account() m365link.Account }); ok && user == "" {
		user = a.Account().UserID
	}

	hc := gc.HTTPClientAs(user)
	hc.Transport = khttp.NewCustomTransportWithParentTransport(hc.Transport, middleware(cfg.PageSize)...)
	auth := absauth.NewBaseBearerTokenAuthenticationProvider(newTokenProvider(cfg.Token, gc.BaseURL()))
	inner, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("graphsdk: %w", err)
	}
	// The service client reads the base URL once, when it is made.
	inner.SetBaseUrl(gc.BaseURL())
	return msgraphsdk.NewGraphServiceClient(&adapter{GraphRequestAdapter: inner}), nil
}

// middleware is the SDK's own pipeline, in a fixed order (kiota builds
// its defaults from a map, so their order changes from run to run), minus
// its redirect handler: redirects follow the library's rule instead (see
// the package documentation).
func middleware(pageSize int) []khttp.Middleware {
	opts := msgraphsdk.GetDefaultClientOptions()
	mw := []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs), // Me() builds /users/me-token-to-replace
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
		khttp.NewCompressionHandler(),
		khttp.NewRetryHandler(),
	}
	if pageSize > 0 {
		mw = append(mw, &pageSizeHandler{prefer: "odata.maxpagesize=" + strconv.Itoa(pageSize)})
	}
	return mw
}

// PageSizeHeaders returns request headers asking Graph for pages of n
// items: give them to the first request's configuration (its Headers
// field) and to the page iterator's SetHeaders, which the iterator needs
// because it sends none of the first request's headers with the requests
// for later pages. Use it for one call's own size; [Config].PageSize sets
// one for every call.
func PageSizeHeaders(n int) *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("Prefer", "odata.maxpagesize="+strconv.Itoa(n))
	return h
}
