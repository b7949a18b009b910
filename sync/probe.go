package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// probePageSize is the page size a probe asks for: an idle folder's answer
// is empty, a changed one's first page small; the round asks for its
// usual size from its second page on.
const probePageSize = 50

// probe asks Graph, in $batch requests of up to 20, for the next page of
// every folder whose last round finished (its cursor holds a deltaLink)
// and that this pass syncs, so that an idle mailbox's pass costs one
// request per 20 such folders instead of one per folder. Each answer
// becomes the first page of its folder's round; an item that says Graph
// lost the folder's sync state (410, syncStateNotFound) is the round's
// first error, recovered as any reset is. A folder whose item came back
// otherwise (throttled, any other error), or whose page cannot be read,
// fetches on its own as before, with the client's retries; a batch that
// fails leaves every folder to do so. Re-asking a deltaLink is harmless:
// Graph answers it the same.
func (p *pass) probe(ctx context.Context, folders []Folder) map[string]probed {
	type item struct {
		ID      string            `json:"id"`
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	now := p.e.cfg.now()
	var items []item
	var refs []string
	for _, f := range folders {
		p.mu.Lock()
		c, ok := p.planned[f.ref()]
		p.mu.Unlock()
		if !ok || c.Link == "" || c.Initial || c.Skip > 0 || now.Before(c.DegradedUntil) || p.rolls(f, c, now) {
			continue
		}
		u, ok := p.e.gc.BatchURL(c.Link)
		if !ok {
			continue
		}
		prefer := []string{`IdType="ImmutableId"`, "odata.maxpagesize=" + strconv.Itoa(min(probePageSize, p.e.cfg.pageSize))}
		switch kindOf(f) {
		case KindCalendar:
			prefer = append(prefer, `outlook.timezone="UTC"`)
		case KindMail:
			if p.e.cfg.IncludeBody {
				prefer = append(prefer, `outlook.body-content-type="text"`)
			}
		}
		items = append(items, item{ID: strconv.Itoa(len(items)), Method: http.MethodGet, URL: u,
			Headers: map[string]string{"Prefer": strings.Join(prefer, ", ")}})
		refs = append(refs, f.ref())
	}
	if len(items) < 2 {
		return nil // one folder costs one request either way
	}
	out := make(map[string]probed, len(items))
	for start := 0; start < len(items); start += maxBatch {
		chunk := items[start:min(start+maxBatch, len(items))]
		var resp struct {
			Responses []struct {
				ID     string          `json:"id"`
				Status int             `json:"status"`
				Body   json.RawMessage `json:"body"`
			} `json:"responses"`
		}
		req := p.request("/$batch", nil)
		req.Method, req.Body, req.Idempotent, req.Weight = http.MethodPost, map[string]any{"requests": chunk}, true, min(len(chunk), 4)
		if err := p.e.gc.JSON(ctx, req, &resp); err != nil {
			p.e.log.LogAttrs(ctx, slog.LevelDebug, "sync: probe batch failed; folders fetch on their own",
				mailboxAttr(p.mb), slog.String("error", err.Error()))
			continue
		}
		for _, r := range resp.Responses {
			i, err := strconv.Atoi(r.ID)
			if err != nil || i < 0 || i >= len(chunk) {
				continue
			}
			switch {
			case r.Status == http.StatusOK && len(r.Body) > 0:
				out[refs[start+i]] = probed{body: r.Body}
			case r.Status >= 400:
				resp := &http.Response{StatusCode: r.Status, Header: http.Header{"Content-Type": {"application/json"}},
					Body:    io.NopCloser(bytes.NewReader(r.Body)),
					Request: &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/$batch"}}}
				if err := graph.CheckResponse(resp, time.Now()); errors.Is(err, m365link.ErrSyncReset) {
					out[refs[start+i]] = probed{err: err}
				}
			}
		}
	}
	return out
}

// probed is a probe's answer for one folder: the body of its next page,
// or Graph saying it lost the folder's sync state.
type probed struct {
	body []byte
	err  error
}

// decodeProbe turns a probe's answer into the round's first page; ok is
// false when it cannot be read (the round then fetches it itself).
func (r *round) decodeProbe(body []byte) (*fetched, bool) {
	gc := r.p.e.gc
	switch kindOf(r.f) {
	case KindCalendar:
		page, err := graph.DecodeTrustedPage[graph.Event](gc, body)
		if err != nil {
			return nil, false
		}
		return r.eventPage(page), true
	case KindContacts:
		page, err := graph.DecodeTrustedPage[graph.Contact](gc, body)
		if err != nil {
			return nil, false
		}
		return r.contactPage(page), true
	}
	page, err := graph.DecodeTrustedPage[graph.Message](gc, body)
	if err != nil {
		return nil, false
	}
	return r.messages(page), true
}
