package fakegraph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// JSON batching: POST /v1.0/$batch.
//
// Items run through the same pipeline as top-level requests (accounting,
// faults, limits), up to 4 at a time as Outlook runs them; an item with
// dependsOn waits for its dependencies and fails with 424 when one of them
// failed. Responses come back in reverse request order, so clients must
// match them by id. A connection fault on any item breaks the whole batch's
// connection.

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

const maxBatch = 20

type batchItemKey struct{}

func isBatchItem(r *http.Request) bool { return r.Context().Value(batchItemKey{}) != nil }

func (s *Server) batch(rc *reqCtx) *result {
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	body, err := io.ReadAll(io.LimitReader(rc.r.Body, 4<<20))
	if err != nil || json.Unmarshal(body, &in) != nil {
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	reqs := in.Requests
	switch {
	case len(reqs) == 0:
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	case len(reqs) > maxBatch:
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Number of requests in batch exceeds the maximum number of allowed requests (20).")
	}
	index := map[string]int{}
	for i, r := range reqs {
		if r.ID == "" || r.Method == "" || r.URL == "" {
			return s.fail(rc, http.StatusBadRequest, "BadRequest", "Every batch request needs an id, a method and a url.")
		}
		if _, dup := index[r.ID]; dup {
			return s.fail(rc, http.StatusBadRequest, "BadRequest", "Batch request ids must be unique; '"+r.ID+"' is repeated.")
		}
		for _, d := range r.DependsOn {
			// A dependency must come earlier, which also rules out cycles.
			if _, ok := index[d]; !ok {
				return s.fail(rc, http.StatusBadRequest, "BadRequest", "Request '"+r.ID+"' depends on '"+d+"', which is not an earlier request of the batch.")
			}
		}
		index[r.ID] = i
	}

	out := make([]batchResponse, len(reqs))
	broken := make([]FaultKind, len(reqs))
	done := make([]chan struct{}, len(reqs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			for _, d := range r.DependsOn {
				j := index[d]
				<-done[j]
				if out[j].Status >= 400 || broken[j] != 0 {
					out[i] = s.failedDependency(rc, r.ID, d)
					return
				}
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], broken[i] = s.batchItem(rc, r)
		}()
	}
	wg.Wait()
	for _, k := range broken {
		if k != 0 {
			return &result{breakConn: k, status: http.StatusOK, header: http.Header{}, body: []byte(`{"responses":[`)}
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	b, err := json.Marshal(struct {
		Responses []batchResponse `json:"responses"`
	}{out})
	if err != nil {
		return s.fail(rc, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
	return jsonResult(b)
}

func (s *Server) failedDependency(rc *reqCtx, id, dep string) batchResponse {
	res := s.fail(rc, http.StatusFailedDependency, "BadRequest", "The request "+id+" depends on "+dep+", which failed.")
	return batchResponse{ID: id, Status: res.status, Headers: map[string]string{"Content-Type": "application/json"}, Body: res.body}
}

// batchItem runs one item through the pipeline.
func (s *Server) batchItem(outer *reqCtx, br batchRequest) (batchResponse, FaultKind) {
	u := br.URL
	if strings.Contains(u, "://") {
		res := s.fail(outer, http.StatusBadRequest, "BadRequest", "Batch request URLs must be relative to the version: '"+u+"'.")
		return batchResponse{ID: br.ID, Status: res.status, Headers: map[string]string{"Content-Type": "application/json"}, Body: res.body}, 0
	}
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	var body io.Reader
	if len(br.Body) > 0 && string(br.Body) != "null" {
		body = bytes.NewReader(br.Body)
	}
	ctx := context.WithValue(outer.r.Context(), batchItemKey{}, true)
	r, err := http.NewRequestWithContext(ctx, strings.ToUpper(br.Method), s.Origin()+"/v1.0"+u, body)
	if err != nil {
		res := s.fail(outer, http.StatusBadRequest, "BadRequest", "Invalid batch request url '"+br.URL+"'.")
		return batchResponse{ID: br.ID, Status: res.status, Body: res.body}, 0
	}
	for k, v := range br.Headers {
		r.Header.Set(k, v)
	}
	r.Header.Set("Authorization", outer.r.Header.Get("Authorization"))
	res, p := s.handle(r)
	p.finish(res.status)
	if res.breakConn != 0 {
		return batchResponse{ID: br.ID}, res.breakConn
	}
	resp := batchResponse{ID: br.ID, Status: res.status, Headers: map[string]string{}}
	for _, h := range []string{"Content-Type", "Retry-After", "Location", "Preference-Applied"} {
		if v := res.header.Get(h); v != "" {
			resp.Headers[h] = v
		}
	}
	switch {
	case len(res.body) == 0:
	case json.Valid(res.body):
		resp.Body = res.body
	default:
		// Graph base64-encodes bodies that are not JSON.
		resp.Body = json.RawMessage(strconv.Quote(base64.StdEncoding.EncodeToString(res.body)))
	}
	return resp, 0
}
