package fakegraph

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Upload sessions for large attachments, as Outlook serves them: POST
// .../attachments/createUploadSession returns an uploadUrl that carries its
// own authorisation (on the fake's origin, shaped like Outlook's
// /api/v2.0/Users('…')/Messages('…')/AttachmentSessions('…')?authtoken=…);
// the client PUTs the bytes to it in order, each chunk with a Content-Range
// and at most [MaxUploadChunk] long, and no Authorization header (one gets
// 401 InvalidAudience, as Outlook's does). Every chunk but the last
// answers 200 with nextExpectedRanges (["{next}"], Outlook's single start
// offset); the last answers 201 with a Location naming the new attachment,
// and the session ends. A GET of the uploadUrl answers the session's
// nextExpectedRanges, so a client can resume after a dropped chunk; a
// DELETE cancels. Upload requests count against their mailbox and take
// faults like any other (a Fault's Route can name "AttachmentSessions").

const (
	// MinUploadSize is the smallest attachment an upload session takes:
	// Graph refuses smaller ones (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize).
	MinUploadSize = 3 << 20
	// MaxUploadSize is the largest attachment Graph takes, 150 MB.
	MaxUploadSize = 150 << 20
	// MaxUploadChunk is the longest chunk one PUT may carry, 4 MB.
	MaxUploadChunk = 4 << 20
	// uploadLifetime is how long a session lives after its last chunk.
	uploadLifetime = 15 * time.Minute
)

type uploadSession struct {
	id, token string
	userID    string
	msgID     string
	att       Attachment
	size      int64
	data      []byte
	expires   time.Time
}

const uploadPrefix = "/api/v2.0/"

func isUploadPath(p string) bool {
	lp := strings.ToLower(p)
	return strings.HasPrefix(lp, uploadPrefix) && strings.Contains(lp, "/attachmentsessions(")
}

// createUploadSession serves POST .../attachments/createUploadSession.
func (s *Server) createUploadSession(rc *reqCtx) *result {
	var w struct {
		AttachmentItem *struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType"`
			IsInline       bool   `json:"isInline"`
			ContentID      string `json:"contentId"`
		} `json:"AttachmentItem"`
	}
	if res := s.decode(rc, &w); res != nil {
		return res
	}
	it := w.AttachmentItem
	switch {
	case it == nil || it.Name == "" || !strings.EqualFold(it.AttachmentType, "file"):
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "AttachmentItem with attachmentType 'file', a name and a size is required.")
	case it.Size < MinUploadSize:
		return s.fail(rc, http.StatusBadRequest, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", "Attachment size must be greater than the minimum size.")
	case it.Size > MaxUploadSize:
		return s.fail(rc, http.StatusBadRequest, "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize", "Attachment size must not be greater than the maximum size.")
	}
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		rec, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		if !rec.m.IsDraft {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidOperation", "Attachments can be added to drafts only.")
		}
		s.mail.n++
		sess := &uploadSession{
			id: guid(hashKey("upload session"), s.mail.n), token: guid(hashKey("upload token"), s.mail.n),
			userID: mb.userID, msgID: rec.m.ID, size: it.Size,
			att:     Attachment{Name: it.Name, ContentType: it.ContentType, IsInline: it.IsInline, ContentID: it.ContentID},
			expires: s.now().Add(uploadLifetime).UTC(),
		}
		s.mail.sessions = mapWith(s.mail.sessions, sess.id, sess)
		out := map[string]any{
			"@odata.context":     s.Origin() + "/v1.0/$metadata#microsoft.graph.uploadSession",
			"uploadUrl":          s.uploadURL(sess),
			"expirationDateTime": sess.expires.Format(time.RFC3339Nano),
			"nextExpectedRanges": []string{"0-"},
		}
		b, _ := json.Marshal(out)
		res = jsonResult(b)
		res.status = http.StatusCreated
		return res
	})
}

func (s *Server) uploadURL(sess *uploadSession) string {
	return s.Origin() + "/api/v2.0/Users('" + sess.userID + "')/Messages('" + sess.msgID + "')/AttachmentSessions('" +
		sess.id + "')?authtoken=" + sess.token
}

// serveUpload runs an upload request through accounting, limits and
// faults, as handle does a Graph request, but without a bearer token.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{
		r:      r,
		reqID:  guid(hashKey("request"), s.reqN.Add(1)),
		crid:   r.Header.Get("client-request-id"),
		opts:   parseOpts(r.URL.RawQuery),
		prefer: parsePrefer(r.Header),
		route:  parseRoute(r.URL.Path[len(uploadPrefix)-1:]),
	}
	mailbox := strings.ToLower(rc.route.userKey)
	s.mu.Lock()
	if u := s.userByKey[mailbox]; u != nil {
		rc.user, mailbox = u, u.u.ID
	}
	s.mu.Unlock()
	p := s.acct.begin(s, rc, mailbox)
	res := s.safeUpload(rc, p)
	finishHeaders(rc, res)
	if res.breakConn != 0 {
		s.breakConn(w, res, p)
		return
	}
	writeResult(w, r, res, p)
}

func (s *Server) safeUpload(rc *reqCtx, p *pending) (res *result) {
	defer func() {
		if v := recover(); v != nil {
			res = s.fail(rc, http.StatusInternalServerError, "InternalServerError", fmt.Sprintf("fakegraph: %v", v))
		}
	}()
	if bearer(rc.r) != "" {
		return s.fail(rc, http.StatusUnauthorized, "InvalidAudience", "The audience claim value is invalid for current resource. Do not send an Authorization header to the upload URL.")
	}
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
	res = s.upload(rc)
	if f != nil && f.AfterServe {
		if after := s.applyFault(rc, f); after != nil {
			return after
		}
	}
	return res
}

// upload serves GET, PUT and DELETE of an upload URL.
func (s *Server) upload(rc *reqCtx) *result {
	var chunk []byte
	if rc.r.Method == http.MethodPut {
		var err error
		if chunk, err = io.ReadAll(io.LimitReader(rc.r.Body, MaxUploadChunk+1)); err != nil {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "The chunk could not be read.")
		}
	}
	sid := ""
	if n := len(rc.route.segs); n > 0 && rc.route.segs[n-1].name == "attachmentsessions" {
		sid = rc.route.segs[n-1].key
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.mail.sessions[sid]
	if sess == nil || !s.now().Before(sess.expires) {
		delete(s.mail.sessions, sid)
		return s.fail(rc, http.StatusNotFound, "ErrorItemNotFound", "The upload session was not found or has expired.")
	}
	if rc.opt("authtoken") != sess.token {
		return s.fail(rc, http.StatusUnauthorized, "InvalidAuthenticationToken", "The upload URL's authorisation is not valid.")
	}
	switch rc.r.Method {
	case http.MethodGet:
		return s.sessionState(sess)
	case http.MethodDelete:
		delete(s.mail.sessions, sid)
		return &result{status: http.StatusNoContent, header: http.Header{}}
	case http.MethodPut:
	default:
		return s.fail(rc, http.StatusMethodNotAllowed, "ErrorInvalidRequest", "An upload URL takes GET, PUT and DELETE.")
	}
	first, last, total, ok := parseContentRange(rc.r.Header.Get("Content-Range"))
	switch {
	case !ok:
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "The Content-Range header is missing or malformed.")
	case len(chunk) > MaxUploadChunk:
		return s.fail(rc, http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge", "A chunk may carry at most 4 MB.")
	case total != sess.size:
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "The Content-Range total is not the session's size.")
	case first != int64(len(sess.data)):
		return s.fail(rc, http.StatusRequestedRangeNotSatisfiable, "ErrorInvalidRange", "The chunk does not start at the next expected byte, "+strconv.Itoa(len(sess.data))+".")
	case last-first+1 != int64(len(chunk)):
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "The chunk's length does not match its Content-Range.")
	}
	sess.data = append(sess.data, chunk...)
	sess.expires = s.now().Add(uploadLifetime).UTC()
	if int64(len(sess.data)) < sess.size {
		return s.sessionState(sess)
	}
	delete(s.mail.sessions, sid)
	mb := s.userByKey[strings.ToLower(sess.userID)].mb
	rec := mb.msgs[sess.msgID]
	if rec == nil || !rec.m.IsDraft {
		return s.fail(rc, http.StatusNotFound, "ErrorItemNotFound", "The message of the upload session is gone.")
	}
	x := s.mail.extra(rec.m.ID)
	s.mail.n++
	a := sess.att
	a.ID, a.Content = guid(hashKey("attachment"), s.mail.n), sess.data
	x.attachments = append(x.attachments, a)
	rec.m.HasAttachments = true
	s.touch(mb, rec)
	res := &result{status: http.StatusCreated, header: http.Header{}}
	res.header.Set("Location", s.Origin()+"/api/v2.0/Users('"+sess.userID+"')/Messages('"+sess.msgID+"')/Attachments('"+a.ID+"')")
	return res
}

func (s *Server) sessionState(sess *uploadSession) *result {
	b, _ := json.Marshal(map[string]any{
		"expirationDateTime": sess.expires.Format(time.RFC3339Nano),
		"nextExpectedRanges": []string{strconv.Itoa(len(sess.data))},
	})
	return jsonResult(b)
}

// parseContentRange reads "bytes {first}-{last}/{total}" with
// first <= last < total.
func parseContentRange(v string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	first, err1 = parseUint(a)
	last, err2 = parseUint(b)
	total, err3 = parseUint(tot)
	if err1 != nil || err2 != nil || err3 != nil || first > last || last >= total {
		return 0, 0, 0, false
	}
	return first, last, total, true
}

// parseUint takes decimal digits only (no sign, no spaces).
func parseUint(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}
