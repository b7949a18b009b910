package mailsend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// Large attachments go through an upload session: createUploadSession
// returns an uploadUrl that carries its own authorisation (no bearer token
// may go with it, and it is never logged: errors name its path only), the
// bytes follow in order in chunks with a Content-Range, and each answer
// says where the next chunk starts. A chunk lost on the way (a dropped
// connection, a 5xx, a range the session did not expect) is resumed by
// asking the session for its nextExpectedRanges. A session that is gone —
// finished by a chunk whose answer was lost, or expired — ends the upload
// with a 404: the next attempt lists the draft's attachments and starts a
// new session only if the file is not there.

type uploadItem struct {
	AttachmentType string `json:"attachmentType"`
	Name           string `json:"name"`
	Size           int    `json:"size"`
	ContentType    string `json:"contentType,omitempty"`
	IsInline       bool   `json:"isInline,omitempty"`
	ContentID      string `json:"contentId,omitempty"`
}

type uploadSession struct {
	UploadURL          string   `json:"uploadUrl"`
	NextExpectedRanges []string `json:"nextExpectedRanges"`
}

func (j *job) upload(ctx context.Context, draftID string, a *Attachment) error {
	r := j.req(http.MethodPost, j.users("messages", draftID, "attachments", "createUploadSession"))
	r.Once = true
	r.Body = struct {
		AttachmentItem uploadItem `json:"AttachmentItem"`
	}{uploadItem{AttachmentType: "file", Name: a.Name, Size: len(a.Content), ContentType: a.ContentType,
		IsInline: a.ContentID != "", ContentID: a.ContentID}}
	var sess uploadSession
	if err := j.s.gc.JSON(ctx, r, &sess); err != nil {
		return err
	}
	if sess.UploadURL == "" {
		return fmt.Errorf("%w: upload session without an uploadUrl", m365link.ErrMalformedResponse)
	}
	size := int64(len(a.Content))
	offset, ok := nextStart(sess.NextExpectedRanges)
	if !ok || offset > size {
		offset = 0
	}
	resumes := 0
	for {
		end := min(offset+int64(j.s.cfg.ChunkSize), size)
		done, next, err := j.putChunk(ctx, sess.UploadURL, a.Content, offset, end)
		switch {
		case err == nil && done:
			return nil
		case err == nil && next > offset && next <= size:
			offset = next
			continue
		case err != nil && ctx.Err() != nil:
			return err
		case err != nil && !uncertain(err) && !rangeRefused(err):
			return err
		}
		// The chunk was lost or misplaced: ask the session where it stands.
		if resumes++; resumes > j.s.cfg.MaxAttempts {
			if err == nil {
				err = fmt.Errorf("%w: the upload session does not advance", m365link.ErrMalformedResponse)
			}
			return err
		}
		if next, err = j.sessionStart(ctx, sess.UploadURL); err != nil {
			return err
		}
		if next > size {
			return fmt.Errorf("%w: the upload session expects byte %d of %d", m365link.ErrMalformedResponse, next, size)
		}
		offset = next
	}
}

// putChunk sends content[from:to]. done says the session is complete (201);
// otherwise next is where the session expects the next chunk.
func (j *job) putChunk(ctx context.Context, uploadURL string, content []byte, from, to int64) (done bool, next int64, err error) {
	size := int64(len(content))
	r := &graph.Request{Method: http.MethodPut, URL: uploadURL, External: true, Mailbox: j.mailbox,
		Body: content[from:to:to], Header: http.Header{
			"Content-Type":  {"application/octet-stream"},
			"Content-Range": {"bytes " + strconv.FormatInt(from, 10) + "-" + strconv.FormatInt(to-1, 10) + "/" + strconv.FormatInt(size, 10)},
		}}
	resp, err := j.s.gc.Do(ctx, r)
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return true, size, nil
	}
	var state uploadSession
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, 0, err
	}
	if err := json.Unmarshal(b, &state); err != nil {
		return false, 0, fmt.Errorf("%w: upload session state: %v", m365link.ErrMalformedResponse, err)
	}
	next, ok := nextStart(state.NextExpectedRanges)
	if !ok {
		return false, 0, fmt.Errorf("%w: upload session state without nextExpectedRanges", m365link.ErrMalformedResponse)
	}
	return false, next, nil
}

// sessionStart asks the session where the next chunk starts.
func (j *job) sessionStart(ctx context.Context, uploadURL string) (int64, error) {
	var state uploadSession
	if err := j.s.gc.JSON(ctx, &graph.Request{URL: uploadURL, External: true, Mailbox: j.mailbox}, &state); err != nil {
		return 0, err
	}
	next, ok := nextStart(state.NextExpectedRanges)
	if !ok {
		return 0, fmt.Errorf("%w: upload session state without nextExpectedRanges", m365link.ErrMalformedResponse)
	}
	return next, nil
}

// rangeRefused is the session saying a chunk did not start where it
// expected (416), or was otherwise malformed for it (400).
func rangeRefused(err error) bool {
	var ge *m365link.GraphError
	return errors.As(err, &ge) && (ge.StatusCode == http.StatusRequestedRangeNotSatisfiable || ge.StatusCode == http.StatusBadRequest)
}

// nextStart reads where the next chunk starts from nextExpectedRanges:
// Outlook sends a single "{start}", OneDrive-style sessions "{start}-" or
// "{start}-{end}". The first range counts (uploads go in order).
func nextStart(ranges []string) (int64, bool) {
	if len(ranges) == 0 {
		return 0, false
	}
	s := strings.TrimSpace(ranges[0])
	if i := strings.IndexByte(s, '-'); i >= 0 {
		end := s[i+1:]
		s = s[:i]
		if end != "" && !digits(end) {
			return 0, false
		}
	}
	if !digits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
