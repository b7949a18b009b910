package fakegraph

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// result is a response computed in full before any byte is written, so the
// writer can gzip it, truncate it or decide when the request stops counting
// as in flight.
type result struct {
	status int
	header http.Header
	body   []byte
	// breakConn is ConnReset or TruncatedBody when the connection must be
	// broken instead of answered.
	breakConn FaultKind
}

// reqCtx is one request as the router sees it.
type reqCtx struct {
	r         *http.Request
	reqID     string
	crid      string
	opts      map[string]string // query options, lower-cased and without '$'
	prefer    map[string]string // Prefer preferences, lower-cased names, unquoted values
	route     route
	user      *userRec  // the user segment, when it names a known user
	tenant    string    // the token's tenant, "" = any
	me        string    // the token's user (ID or UPN), "" = none
	foreign   bool      // ForeignNextLink fault: links point elsewhere
	syncFault FaultKind // a sync fault fired; the delta code renders it
	post      FaultKind // TruncatedBody, MalformedJSON or AppliedThen503: spoil the real response

	postRetryAfter string // AppliedThen503's Retry-After
}

func (rc *reqCtx) opt(name string) string { return rc.opts[name] }

const foreignOrigin = "https://evil.example"

func (s *Server) origin(rc *reqCtx) string {
	if rc.foreign {
		return foreignOrigin
	}
	return s.Origin()
}

func parseOpts(rawQuery string) map[string]string {
	out := map[string]string{}
	q, _ := url.ParseQuery(rawQuery)
	for k, v := range q {
		k = strings.ToLower(strings.TrimPrefix(k, "$"))
		if _, dup := out[k]; !dup && len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// parsePrefer splits Prefer headers into preferences:
// `odata.maxpagesize=50, IdType="ImmutableId"`.
func parsePrefer(h http.Header) map[string]string {
	out := map[string]string{}
	for _, line := range h.Values("Prefer") {
		for _, p := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				out[name] = strings.Trim(strings.TrimSpace(val), `"`)
			}
		}
	}
	return out
}

// ServeHTTP serves Graph requests, which lets the fake be mounted on
// another server; the links it emits still point at [Server.Origin].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUploadPath(r.URL.Path) {
		s.serveUpload(w, r)
		return
	}
	res, p := s.handle(r)
	if res.breakConn != 0 {
		s.breakConn(w, res, p)
		return
	}
	writeResult(w, r, res, p)
}

// handle runs one request (a top-level one or a $batch item) through the
// pipeline: accounting, authentication, limits, faults, routing. The
// returned pending is still counted in flight; the caller finishes it once
// the response is out.
func (s *Server) handle(r *http.Request) (*result, *pending) {
	rc := &reqCtx{
		r:      r,
		reqID:  guid(hashKey("request"), s.reqN.Add(1)),
		crid:   r.Header.Get("client-request-id"),
		opts:   parseOpts(r.URL.RawQuery),
		prefer: parsePrefer(r.Header),
	}
	path, versioned := cutVersion(r.URL.Path)
	if versioned {
		rc.route = parseRoute(path)
	}
	mailbox := ""
	if rc.route.userKey != "" {
		s.mu.Lock()
		rc.user = s.userByKey[strings.ToLower(rc.route.userKey)]
		s.mu.Unlock()
		mailbox = strings.ToLower(rc.route.userKey)
		if rc.user != nil {
			mailbox = rc.user.u.ID
		}
	}
	p := s.acct.begin(s, rc, mailbox)
	res := s.safePipeline(rc, versioned, p)
	finishHeaders(rc, res)
	return res, p
}

// safePipeline turns a panic in the fake into a 500 that names it, so a
// bug here fails the test at hand instead of leaving a request in flight.
func (s *Server) safePipeline(rc *reqCtx, versioned bool, p *pending) (res *result) {
	defer func() {
		if v := recover(); v != nil {
			res = s.fail(rc, http.StatusInternalServerError, "InternalServerError", fmt.Sprintf("fakegraph: %v", v))
		}
	}()
	return s.pipeline(rc, versioned, p)
}

func (s *Server) pipeline(rc *reqCtx, versioned bool, p *pending) *result {
	if !versioned {
		return s.fail(rc, http.StatusNotFound, "BadRequest", "Invalid version: the path must start with /v1.0.")
	}
	token := bearer(rc.r)
	hooks := s.auth.Load()
	if token == "" {
		return s.fail(rc, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	if hooks != nil && hooks.valid != nil && !hooks.valid(token, rc.r) {
		return s.fail(rc, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	}
	if hooks != nil && hooks.tenantOf != nil {
		rc.tenant = hooks.tenantOf(token, rc.r)
	}
	if hooks != nil && hooks.userOf != nil {
		rc.me = hooks.userOf(token, rc.r)
	}

	// Limits come first: a slow (Latency) request holds its slot.
	if res := s.acct.admit(s, rc, p); res != nil {
		return res
	}
	f := s.faults.match(rc, p.box)
	if f != nil {
		s.acct.faultFired(p)
		if !f.AfterServe {
			if res := s.applyFault(rc, f); res != nil {
				return res
			}
		}
	}
	res := s.dispatch(rc)
	if f != nil && f.AfterServe {
		if after := s.applyFault(rc, f); after != nil {
			return after
		}
	}
	if rc.syncFault != 0 {
		// A sync fault on a route the delta code did not claim.
		return s.syncReset(rc, rc.syncFault, s.origin(rc)+rc.r.URL.Path+"?$deltatoken=")
	}
	return res
}

func cutVersion(p string) (string, bool) {
	if len(p) >= 5 && strings.EqualFold(p[:5], "/v1.0") && (len(p) == 5 || p[5] == '/') {
		return p[5:], true
	}
	return "", false
}

// fail renders a Graph error.
func (s *Server) fail(rc *reqCtx, status int, code, msg string) *result {
	type inner struct {
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError inner  `json:"innerError"`
		} `json:"error"`
	}
	var b body
	b.Error.Code, b.Error.Message = code, msg
	b.Error.InnerError = inner{s.now().UTC().Format("2006-01-02T15:04:05"), rc.reqID, rc.crid}
	out, _ := json.Marshal(b)
	return &result{status: status, header: http.Header{}, body: out}
}

func jsonResult(body []byte) *result {
	return &result{status: http.StatusOK, header: http.Header{}, body: body}
}

func finishHeaders(rc *reqCtx, res *result) {
	if res.header == nil {
		res.header = http.Header{}
	}
	res.header.Set("request-id", rc.reqID)
	if rc.crid != "" {
		res.header.Set("client-request-id", rc.crid)
	}
	if len(res.body) > 0 && res.header.Get("Content-Type") == "" {
		res.header.Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	}
}

// writeResult sends res. The request stops counting as in flight just
// before the last part of the body leaves: a client cannot have read the
// whole response (or even its closing brace) while the fake still counts
// it, so MaxInFlight and MailboxConcurrency never see phantom overlap.
func writeResult(w http.ResponseWriter, r *http.Request, res *result, p *pending) {
	h := w.Header()
	for k, v := range res.header {
		h[k] = v
	}
	body, tail := res.body, []byte(nil)
	if n := len(body); n > 0 {
		if acceptsGzip(r) {
			var buf bytes.Buffer
			zw := gzipPool.Get().(*gzip.Writer)
			zw.Reset(&buf)
			zw.Write(body[:n-1])
			zw.Flush()
			split := buf.Len()
			zw.Write(body[n-1:])
			zw.Close()
			gzipPool.Put(zw)
			z := buf.Bytes()
			body, tail = z[:split], z[split:]
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
		} else {
			body, tail = body[:n-1], body[n-1:]
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)+len(tail)))
	w.WriteHeader(res.status)
	w.Write(body)
	p.finish(res.status)
	w.Write(tail)
}

// gzipPool recycles compressors: a new one allocates hundreds of kilobytes.
var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, enc := range strings.Split(v, ",") {
			enc, q, _ := strings.Cut(strings.TrimSpace(enc), ";")
			if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

// breakConn answers with a reset (ConnReset) or with the headers and half
// the body of res before dropping the connection (TruncatedBody).
func (s *Server) breakConn(w http.ResponseWriter, res *result, p *pending) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		p.finish(0)
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		p.finish(0)
		panic(http.ErrAbortHandler)
	}
	status := 0
	if res.breakConn == TruncatedBody {
		status = res.status
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", res.status, http.StatusText(res.status))
		res.header.Set("Content-Length", strconv.Itoa(len(res.body)))
		res.header.Write(buf)
		buf.WriteString("\r\n")
		buf.Write(res.body[:len(res.body)/2])
		buf.Flush()
	}
	p.finish(status)
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn() // no close_notify: the peer must see a broken stream
	}
	if tcp, ok := raw.(*net.TCPConn); ok && res.breakConn == ConnReset {
		tcp.SetLinger(0)
	}
	raw.Close()
}

// applyFault serves a fired fault. It returns nil when the request must
// still be served (Latency, ForeignNextLink, TruncatedBody, MalformedJSON
// and the sync faults, which need the route), having marked rc so.
func (s *Server) applyFault(rc *reqCtx, f *Fault) *result {
	retry := func(res *result) *result {
		if f.RetryAfter != "" {
			res.header.Set("Retry-After", f.RetryAfter)
		}
		return res
	}
	switch f.Kind {
	case Throttle429:
		return retry(s.fail(rc, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."))
	case Unavailable503:
		return retry(s.fail(rc, http.StatusServiceUnavailable, "ServiceNotAvailable", "The service is temporarily unavailable. Please retry later."))
	case GatewayTimeout504:
		return s.fail(rc, http.StatusGatewayTimeout, "UnknownError", "The gateway did not receive a timely response from the upstream server.")
	case ConnReset:
		return &result{breakConn: ConnReset}
	case Latency:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-rc.r.Context().Done():
		}
	case ForeignNextLink:
		rc.foreign = true
	case SyncReset410, SyncStateNotFound, SyncStateInvalid, ResyncRequired:
		rc.syncFault = f.Kind
	case TruncatedBody, MalformedJSON:
		rc.post = f.Kind
	case AppliedThen503:
		rc.post = f.Kind
		rc.postRetryAfter = f.RetryAfter
	}
	return nil
}

// dispatch routes rc and applies the faults that rewrite a real response.
func (s *Server) dispatch(rc *reqCtx) *result {
	res := s.route(rc)
	switch rc.post {
	case TruncatedBody:
		res.breakConn = TruncatedBody
	case MalformedJSON:
		half := res.body[:len(res.body)/2]
		res.status = http.StatusOK
		res.body = append(append([]byte(nil), half...), `"]}},{`...)
	case AppliedThen503:
		res = s.fail(rc, http.StatusServiceUnavailable, "ServiceNotAvailable", "The service is temporarily unavailable. Please retry later.")
		if rc.postRetryAfter != "" {
			res.header.Set("Retry-After", rc.postRetryAfter)
		}
	}
	return res
}

// syncReset renders a sync-state failure; location is the base delta URL a
// 410 points the client back to.
func (s *Server) syncReset(rc *reqCtx, kind FaultKind, location string) *result {
	rc.syncFault = 0
	switch kind {
	case SyncStateNotFound:
		return s.fail(rc, http.StatusBadRequest, "syncStateNotFound", "The sync state could not be found. The delta token is unknown or has expired.")
	case SyncStateInvalid:
		return s.fail(rc, http.StatusBadRequest, "syncStateInvalid", "The sync state is invalid. Restart the synchronization without a token.")
	case ResyncRequired:
		res := s.fail(rc, http.StatusGone, "resyncRequired", "The delta token is no longer valid. A full resynchronization is required.")
		res.header.Set("Location", location)
		return res
	default:
		res := s.fail(rc, http.StatusGone, "syncStateNotFound", "The sync state generation is not valid any more. Restart the synchronization from the base request.")
		res.header.Set("Location", location)
		return res
	}
}

// retryAfterSeconds renders a duration as Retry-After, rounded up.
func retryAfterSeconds(d time.Duration) string {
	sec := int(math.Ceil(d.Seconds()))
	if sec < 1 {
		sec = 1
	}
	return strconv.Itoa(sec)
}
