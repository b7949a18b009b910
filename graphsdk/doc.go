// Package graphsdk gives hosts Microsoft's Go SDK for Graph
// (github.com/microsoftgraph/msgraph-sdk-go) for the calls the library
// does not wrap — OneDrive files, Planner, directory extensions — on the
// library's tokens and throttling.
//
// It is opt-in and heavy: it is the only package of the module that
// imports the SDK, and a program importing it compiles the SDK (minutes
// and gigabytes of compiler memory on a cold cache; see Cost below), while
// a program importing any other package does not. The
// library's own packages keep lean wire types on a shared Graph client.
//
//	gc, _ := graphclient.New(graphclient.Config{Cloud: m365link.Global})
//	app, _ := graphsdk.New(graphsdk.Config{Client: gc, Token: manager.Source(m365link.Account{TenantID: tenant})})
//	user, _ := graphsdk.New(graphsdk.Config{Client: gc, Token: manager.Source(account)})
//	drive, err := user.Me().Drive().Get(ctx, nil)
//
// # One set of limits per mailbox
//
// [New] returns a *msgraphsdk.GraphServiceClient whose requests travel on
// the [graphclient.Client]'s transport, through the same per-mailbox
// limiter as sync, calendar and mailsend: at most 4 requests in flight per
// mailbox and the mailbox's request budget, whoever sends them. A burst of
// SDK calls for a mailbox makes that mailbox's sync wait its turn instead
// of drawing 429s from Outlook, and a 429 or 503 with Retry-After met by
// either holds both for the wait (rounded up, not truncated as the SDK's
// retry handler does).
//
// The limiter's key is the mailbox a request names:
//   - /users/{id-or-upn}/... (and /users('{id}')/...) is paced as that
//     user. Name a mailbox the way the sync engine does — by its user's
//     object ID, m365link.Mailbox.UserID — so both count against one
//     budget: the limiter cannot know that a UPN and an object ID are the
//     same mailbox, and paces them apart.
//   - /me/... is paced as the connected user of a delegated client: the
//     object ID in [Config].User, or the Account of a token source that has
//     one (tokens.Source has).
//   - Anything else (/drives/{id}, /groups, /organization, $batch) names
//     no mailbox and is not paced by one: Outlook's per-mailbox limits do
//     not apply to it.
//
// Retries are the SDK's (its retry handler: 429, 503 and 504, three
// times); each retry passes the limiter again, so it waits out a throttle
// in force for its mailbox. A redirect is followed, at most ten times, only
// within the exact origin of the request, as for every request of the
// library: the SDK's own redirect handler is left out of the pipeline. An
// answer redirecting elsewhere (a OneDrive download's pre-authenticated
// URL, say) comes back to the caller unfollowed. A bearer token is only
// ever sent to the client's Graph origin: a request elsewhere (a paging
// link pointing at another host, say) fails with an error matching
// m365link.ErrUntrustedLink before anything is sent.
//
// # Errors
//
// An SDK call returns the library's typed errors, for errors.Is and
// errors.As:
//   - a token source that can no longer refresh returns a
//     *m365link.ReconnectError (matching m365link.ErrReconnectRequired), and
//     the SDK call returns it, wrapped;
//   - an error answer from Graph is an *[Error]: it unwraps to a
//     *m365link.GraphError (status, code, message, request IDs,
//     Retry-After; errors.Is matches m365link.ErrThrottled,
//     m365link.ErrNotFound, m365link.ErrForbidden, ...) and to the SDK's
//     own *odataerrors.ODataError. A type assertion on the returned error
//     no longer finds the SDK's type: use errors.As;
//   - a round trip that failed names the method and path only (the query
//     carries skip and delta tokens) and matches m365link.ErrUnavailable.
//
// # The SDK's quirks, handled
//
//   - Page size: Graph reads Prefer: odata.maxpagesize per request, and the
//     SDK's page iterator sends the requests for later pages without the
//     first request's headers, so a loop that asked for 1,000 messages a
//     page gets Graph's default of 10 from the second page on — a hundred
//     times the requests against the mailbox's budget. [Config].PageSize
//     adds the preference to every GET that carries none; for one call's
//     own size, [PageSizeHeaders] goes to both the first request and the
//     iterator's SetHeaders.
//   - Idle connections: the SDK's default transport keeps Go's default of
//     2 idle connections per host, so beyond 2 concurrent requests every
//     request opens a new TLS connection. The client here uses the
//     graphclient.Client's transport (graphclient.DefaultTransport: a warm
//     connection per concurrent request, 256 per host), unless the host
//     gave graphclient a transport of its own.
//   - Middleware order: the SDK builds its default middleware from a Go
//     map, in a different order every run; the pipeline here has a fixed
//     order.
//   - Base URL: the service client reads the adapter's base URL once, when
//     it is made; New sets it to the cloud's Graph first, so national
//     clouds and the test fakes work.
//   - Untrusted hosts: the SDK's Azure authentication provider sends no
//     token, and no error, to a host outside its list, which surfaces later
//     as a puzzling 401; here such a request fails at once.
//
// # Cost
//
// Measured here (go1.26.8, 2 shared cores, load average 9-16 from other
// builds, so wall times are long; the CPU times travel better), with a
// cold GOCACHE, of a tiny program calling graphsdk.New versus one calling
// sync.New:
//
//	program importing   wall     CPU (user+sys)  max RSS   binary
//	sync                1m51s     63 s            302 MB    10.0 MB
//	graphsdk            20m26s   530 s           4.61 GB    35.7 MB
//
// The SDK decodes into backing-store models through Kiota's parse nodes.
// The same initial sync of 20,000 messages, 1,000 a page, gzipped, from a
// generator in another process over loopback (BenchmarkSideBySide in this
// package's tests, one run, -benchtime 3x), per message of client CPU,
// allocations and bytes allocated:
//
//	m365link sync engine        6.8 µs    3.3 allocs     1.2 KB
//	SDK delta loop             71.2 µs    622 allocs    30.8 KB
//	read and discard (floor)    4.7 µs    0.2 allocs    22 B
//
// engine/SDK: CPU 0.095 (the SDK costs 10.5 times the engine), allocations
// 0.005, bytes 0.040; engine/floor: CPU 1.45. A second run on a quiet
// machine gave engine/SDK 0.094 and engine/floor 2.32 (9.6 µs, 102 µs and
// 4.1 µs): the engine/SDK ratio holds, the floor's moves with the load.
// Use the SDK for the calls the library does not make, not to sync mail.
package graphsdk
