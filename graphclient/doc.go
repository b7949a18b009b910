// Package graphclient is the one handle to Microsoft Graph that a process
// shares between the library's packages: sync, consent's connection test,
// calendar, mailsend and graphsdk all take a *Client, as go-github's
// services share one github.Client.
//
// A Client carries the [m365link.Cloud] (where Graph is), the HTTP client
// underneath, the retry policy (Retry-After honoured, capped exponential
// backoff with jitter otherwise), the per-mailbox limiter (at most 4
// requests in flight and a budget below Outlook's 10,000 requests per 10
// minutes, throttling of a mailbox seen by every caller), timeouts, a cap
// on response sizes and the logger. Because every package's calls for a
// mailbox go through the same limiter, throttling met by one package slows
// that mailbox in all of them instead of tripping more 429s.
//
//	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Global, Logger: logger})
//	engine, err := m365sync.New(m365sync.Config{Client: gc, ...})
//
// Requests never follow a redirect with credentials, never follow a paging
// link outside the cloud's Graph origin, and never log tokens or the query
// of delta links.
package graphclient
