// Package graph is the one HTTP layer between m365link and Microsoft Graph.
//
// Every request goes through a [Client], shared by every package of the
// process, which:
//
//   - adds the bearer token from a [TokenSource], Prefer: IdType="ImmutableId"
//     (IDs that survive folder moves) and a client-request-id;
//   - paces each mailbox with a [Limiter]: at most 4 requests in flight, a
//     request budget below Outlook's 10,000 per 10 minutes, and a throttle
//     that, once Graph says 429 for a mailbox, holds every caller for it;
//   - retries 429, 5xx (500, 502, 503, 504), dropped connections, stalled
//     responses and truncated or garbled bodies, waiting what Retry-After says
//     (rounded up, floored, capped at 10 minutes) or with capped exponential
//     backoff with full jitter, within a total time cap;
//   - reads every answer under timeouts (for headers, and for a stalled body)
//     and with a size cap counted after decompression;
//   - never follows a redirect with credentials;
//   - turns error answers into *m365link.GraphError via [CheckResponse], so
//     errors.Is(err, m365link.ErrThrottled) and friends work everywhere;
//   - follows nextLink/deltaLink only on the configured Graph origin, and
//     refuses a page that carries one elsewhere;
//   - decodes message pages with a single-pass decoder ([DecodePage]) that is
//     several times cheaper than encoding/json, falling back to
//     encoding/json and a lenient reader for anything unexpected.
//
// [Client.HTTPClient] exposes the same transport and limiter as a plain
// *http.Client for msgraph-sdk-go, which brings its own auth and retries.
package graph
