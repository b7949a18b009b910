package graphsdk

import (
	"net/http"
	"strings"

	khttp "github.com/microsoft/kiota-http-go"
)

// pageSizeHandler adds Prefer: odata.maxpagesize to every GET that asks
// for no page size of its own. Graph reads the preference per request and
// the SDK's page iterator sends later pages without the first request's
// headers, so without it a loop that asked for 1,000 messages a page gets
// 10 from the second page on: a hundred times the requests against the
// mailbox's budget.
type pageSizeHandler struct {
	prefer string // "odata.maxpagesize=N"
}

func (h *pageSizeHandler) Intercept(p khttp.Pipeline, i int, r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && !strings.Contains(strings.ToLower(strings.Join(r.Header.Values("Prefer"), ",")), "odata.maxpagesize") {
		r = r.Clone(r.Context())
		r.Header.Add("Prefer", h.prefer)
	}
	return p.Next(r, i)
}
