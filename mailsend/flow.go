package mailsend

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// A send is a small state machine driven by what the mailbox holds, so
// that a retry — within the call, or by a new process after a crash —
// picks up where the last one stopped and never sends twice:
//
//	look up the key: in Sent Items         → done (the message went out)
//	                 in Drafts, a draft    → complete its attachments, send it
//	                 elsewhere, not a draft
//	                 or a draft outside
//	                 Drafts and Deleted
//	                 Items (the Outbox)    → in transit: it went out; wait for
//	                                          its copy in Sent Items
//	                 nowhere               → create the draft (with the key), attach, send
//
// The second lookup searches every folder (GET /users/{id}/messages with the
// key's $filter), not only Drafts: Graph's 202 to a send only hands the
// draft to transport, which takes it out of Drafts at once and puts the
// copy in Sent Items later (GRAPH.md, Mail sending). A retry that came
// in between — a new process after a crash, the host's outbox worker —
// and looked only in Sent Items and Drafts found nothing and sent the
// message again. Searching every folder finds the message wherever it is
// on its way (the Outbox, or Sent Items under a rule's move) in the same
// one request the Drafts lookup cost. A draft discarded after a refused
// send sits in Deleted Items and does not count.
//
// A reply or forward is made by createReply (or createReplyAll,
// createForward) and then completed by a PATCH. The key goes on the draft
// in the createReply request itself, marked incomplete; the PATCH sets the
// complete key. So a createReply whose answer was lost leaves a draft a
// retry finds (by the incomplete key, in Drafts) and completes, instead of
// a stray keyless draft in the user's Drafts.
//
// Steps that create or send are made once (graph.Request.Once): when one
// fails without saying whether Graph acted (a 503, a timeout, a dropped
// connection) the next attempt looks again instead of resending. A draft
// can be sent only once — the send moves it to Sent Items under a new ID —
// so even a send repeated against Graph's will delivers one message.

// createInlineBudget bounds the attachment bytes sent inside the create
// request; the rest are posted one by one (Graph takes a request of 4 MB).
const createInlineBudget = 2 << 20

type job struct {
	s        *Sender
	ts       TokenSource
	mailbox  string
	msg      *Message
	action   string // send, createReply, createReplyAll, createForward
	original string // the message answered or forwarded
	key      string // the key's digest, on the draft

	// mayHaveSent is set once this call asked Graph to send: from then on
	// a missing draft means it went out, and a found sent copy is this
	// call's own, not a replay.
	mayHaveSent bool
	// accepted is set when Graph answered the send 202.
	accepted bool
	draft    *wireMessage // the draft this call made or found
	// transit is the message found on its way out (sent by an earlier
	// call whose copy is not yet in Sent Items).
	transit *wireMessage
}

func (j *job) req(method, path string) *graph.Request {
	return &graph.Request{Method: method, Path: path, Mailbox: j.mailbox, Token: j.ts}
}

func (j *job) users(segs ...string) string {
	return graph.Path(append([]string{"users", j.mailbox}, segs...)...)
}

// run drives attempts until the message is sent, refused, or the
// attempts run out.
func (j *job) run(ctx context.Context) (*Sent, error) {
	if j.msg.IdempotencyKey != "" {
		// Two calls with one key at once would both find nothing and
		// both send.
		unlock, err := j.s.keys.Lock(ctx, strings.ToLower(j.mailbox)+"\x00"+j.key)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	var last error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if attempt > j.s.cfg.MaxAttempts {
				return nil, &Error{Kind: ErrOutcomeUnknown, Op: j.action, Mailbox: j.mailbox,
					Detail: "failures outlasted the attempts; retry with the same IdempotencyKey", Err: last}
			}
			j.s.log.LogAttrs(ctx, slog.LevelInfo, "mailsend: outcome uncertain, looking for the message before going on",
				slog.String("mailbox", j.mailbox), slog.String("op", j.action), slog.Int("attempt", attempt),
				slog.String("error", last.Error()))
			if err := sleep(ctx, backoff(attempt, last)); err != nil {
				return nil, err
			}
		}
		sent, err, again := j.attempt(ctx)
		if !again {
			return sent, err
		}
		last = err
	}
}

// attempt makes one pass of the state machine; again says its failure
// left the outcome open and the next pass must look before acting.
func (j *job) attempt(ctx context.Context) (_ *Sent, _ error, again bool) {
	f, err := j.lookup(ctx)
	if err != nil {
		return nil, wrap("find by key", err), uncertain(err)
	}
	if f.sent != nil {
		f.sent.Replayed = !j.mayHaveSent
		return f.sent, nil, false
	}
	if f.transit != nil {
		// Sent by an earlier call (or this one), not yet in Sent Items.
		j.transit = f.transit
		return j.settle(ctx)
	}
	draft := f.draft
	if draft == nil && j.mayHaveSent {
		// This call's draft is gone: the send went through, and its copy
		// is on its way to Sent Items.
		return j.settle(ctx)
	}
	var present map[string]int
	switch {
	case draft == nil && f.incomplete != nil:
		if draft, err = j.complete(ctx, f.incomplete); err != nil {
			return nil, err, uncertain(err)
		}
		present = map[string]int{}
	case draft == nil:
		if draft, present, err = j.create(ctx); err != nil {
			return nil, err, uncertain(err)
		}
	case len(j.msg.Attachments) > 0:
		if present, err = j.attachmentNames(ctx, draft.ID); err != nil {
			return nil, wrap("list attachments", err), uncertain(err) || gone(err)
		}
	}
	j.draft = draft
	if err := j.attach(ctx, draft.ID, present); err != nil {
		if uncertain(err) || gone(err) {
			return nil, err, true
		}
		return nil, classify("attach", j.mailbox, err), false
	}
	err = j.s.gc.JSON(ctx, &graph.Request{Method: http.MethodPost, Path: j.users("messages", draft.ID, "send"),
		Mailbox: j.mailbox, Token: j.ts, Once: true}, nil)
	if err == nil {
		j.mayHaveSent, j.accepted = true, true
		return j.settle(ctx)
	}
	if ctx.Err() != nil {
		return nil, err, false
	}
	if uncertain(err) || gone(err) {
		j.mayHaveSent = true
		return nil, wrap("send", err), true
	}
	// Refused: nothing went out. Drop the draft, so the user's Drafts do
	// not collect failures; a retry after the cause is fixed makes a new one.
	j.discard(ctx, draft.ID)
	return nil, classify("send", j.mailbox, err), false
}

// found is what a lookup by key found; at most one field is set, apart
// from incomplete.
type found struct {
	sent    *Sent        // the copy in Sent Items
	transit *wireMessage // the message on its way out, elsewhere
	draft   *wireMessage // a complete draft in Drafts
	// incomplete is a reply or forward draft whose createReply answer was
	// lost before it was completed.
	incomplete *wireMessage
}

// lookup finds the message by its key: in Sent Items, then in every
// folder (see the state machine above).
func (j *job) lookup(ctx context.Context) (found, error) {
	var f found
	var err error
	if f.sent, err = j.findSent(ctx); err != nil || f.sent != nil {
		return f, err
	}
	r := j.req(http.MethodGet, j.users("messages"))
	r.Query = url.Values{"$filter": {keyFilter(j.key)}, "$select": {lookupSelect + ",parentFolderId"}, "$top": {"10"}}
	var all wireList
	if err := j.s.gc.JSON(ctx, r, &all); err != nil {
		return f, err
	}
	var drafts []*wireMessage
	for i := range all.Value {
		m := &all.Value[i]
		if !m.IsDraft {
			f.transit = m
			return f, nil
		}
		drafts = append(drafts, m)
	}
	if len(drafts) > 0 {
		// A draft in Drafts is not sent yet; one in Deleted Items was
		// discarded; one elsewhere (the Outbox) was handed to transport.
		ids, err := j.folderIDs(ctx, "drafts", "deleteditems")
		if err != nil {
			return f, err
		}
		for _, m := range drafts {
			switch m.ParentFolderID {
			case ids[0]:
				if f.draft == nil {
					f.draft = m
				}
			case ids[1]:
			default:
				f.transit = m
				return f, nil
			}
		}
		if f.draft != nil {
			return f, nil
		}
	}
	if j.action != "send" {
		list, err := j.find(ctx, "drafts", incompleteKey(j.key), replySelect)
		if err != nil {
			return f, err
		}
		for i := range list {
			if !list[i].IsDraft {
				continue
			}
			if f.incomplete == nil {
				f.incomplete = &list[i]
			} else {
				j.discard(ctx, list[i].ID) // a second lost createReply's draft
			}
		}
	}
	return f, nil
}

// folderIDs reads the IDs of well-known folders.
func (j *job) folderIDs(ctx context.Context, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		r := j.req(http.MethodGet, j.users("mailFolders", n))
		r.Query = url.Values{"$select": {"id"}}
		var f struct {
			ID string `json:"id"`
		}
		if err := j.s.gc.JSON(ctx, r, &f); err != nil {
			return nil, err
		}
		out[i] = f.ID
	}
	return out, nil
}

func (j *job) findSent(ctx context.Context) (*Sent, error) {
	list, err := j.find(ctx, "sentitems", j.key, lookupSelect)
	if err != nil {
		return nil, err
	}
	for _, m := range list {
		if !m.IsDraft {
			return &Sent{ID: m.ID, InternetMessageID: m.InternetMessageID, ConversationID: m.ConversationID, SentAt: m.SentDateTime.Time}, nil
		}
	}
	return nil, nil
}

// find lists the messages of a folder whose key property is value.
func (j *job) find(ctx context.Context, folder, value, sel string) ([]wireMessage, error) {
	r := j.req(http.MethodGet, j.users("mailFolders", folder, "messages"))
	r.Query = url.Values{"$filter": {keyFilter(value)}, "$select": {sel}, "$top": {"5"}}
	var out wireList
	if err := j.s.gc.JSON(ctx, r, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// settle waits for the sent copy in Sent Items.
func (j *job) settle(ctx context.Context) (*Sent, error, bool) {
	deadline := time.Now().Add(j.s.cfg.Settle)
	for {
		sent, err := j.findSent(ctx)
		if err != nil && !uncertain(err) {
			return nil, wrap("find sent copy", err), false
		}
		if sent != nil {
			sent.Replayed = !j.mayHaveSent
			return sent, nil, false
		}
		if !time.Now().Add(j.s.cfg.PollInterval).Before(deadline) {
			break
		}
		if err := sleep(ctx, j.s.cfg.PollInterval); err != nil {
			return nil, err, false
		}
	}
	if j.accepted && j.draft != nil {
		// Graph accepted the send; only its copy is late (or not kept).
		return &Sent{InternetMessageID: j.draft.InternetMessageID, ConversationID: j.draft.ConversationID}, nil, false
	}
	if j.transit != nil {
		// The message was found on its way out; its copy is late.
		return &Sent{InternetMessageID: j.transit.InternetMessageID, ConversationID: j.transit.ConversationID,
			Replayed: !j.mayHaveSent}, nil, false
	}
	return nil, &Error{Kind: ErrOutcomeUnknown, Op: j.action, Mailbox: j.mailbox,
		Detail: "the draft is gone but no copy reached Sent Items within " + j.s.cfg.Settle.String()}, false
}

// create makes the draft with the key: a new message in one request, or a
// reply or forward by Graph's create* action and a PATCH that adds the
// host's part and the key (so a draft found by the key is complete but for
// attachments). It returns the names of the attachments already on it.
func (j *job) create(ctx context.Context) (*wireMessage, map[string]int, error) {
	m := j.msg
	if j.action == "send" {
		d := wireDraft{Subject: m.Subject, Body: &wireBody{ContentType: bodyType(m.BodyType), Content: m.Body},
			ToRecipients: recipients(m.To), CcRecipients: recipients(m.Cc)}
		j.common(&d)
		present := map[string]int{}
		budget := createInlineBudget
		for i := range m.Attachments {
			a := &m.Attachments[i]
			if len(a.Content) < InlineAttachmentLimit && len(a.Content) <= budget {
				d.Attachments = append(d.Attachments, fileAttachment(a))
				budget -= len(a.Content)
				present[a.Name]++
			}
		}
		r := j.req(http.MethodPost, j.users("messages"))
		r.Body, r.Once = d, true
		var out wireMessage
		if err := j.s.gc.JSON(ctx, r, &out); err != nil {
			return nil, nil, classify("create draft", j.mailbox, err)
		}
		return &out, present, nil
	}

	// The draft is made with its key marked incomplete (createReply takes
	// a message of properties to set), so that one whose answer is lost
	// is found and completed by the next attempt, not left behind.
	r := j.req(http.MethodPost, j.users("messages", j.original, j.action))
	r.Body = wireCreateReply{Message: &wireDraft{SingleValueExtendedProperties: []wireProp{{ID: keyPropertyID, Value: incompleteKey(j.key)}}}}
	r.Once = true
	var made wireMessage
	if err := j.s.gc.JSON(ctx, r, &made); err != nil {
		return nil, nil, classify(j.action, j.mailbox, err)
	}
	out, err := j.complete(ctx, &made)
	if err != nil {
		return nil, nil, err
	}
	// A forward's draft carries the original's attachments: only ours
	// count as present, and none is yet.
	return out, map[string]int{}, nil
}

// complete adds the host's part and the complete key to a reply or
// forward draft as createReply made it.
func (j *job) complete(ctx context.Context, made *wireMessage) (*wireMessage, error) {
	m := j.msg
	d := wireDraft{Subject: m.Subject}
	body := replyBody(m.Body, m.BodyType, made.Body)
	d.Body = &body
	if len(m.To) > 0 {
		d.ToRecipients = plus(made.ToRecipients, m.To)
	}
	if len(m.Cc) > 0 {
		d.CcRecipients = plus(made.CcRecipients, m.Cc)
	}
	j.common(&d)
	p := j.req(http.MethodPatch, j.users("messages", made.ID))
	p.Body, p.Idempotent = d, true
	var out wireMessage
	if err := j.s.gc.JSON(ctx, p, &out); err != nil {
		if !uncertain(err) {
			j.discard(ctx, made.ID)
		}
		return nil, classify("complete "+j.action+" draft", j.mailbox, err)
	}
	return &out, nil
}

// attachmentNames counts the attachments on a draft found by its key, by
// name. (A found forward also holds the original's attachments; one named
// like one of the host's passes for it.)
func (j *job) attachmentNames(ctx context.Context, draftID string) (map[string]int, error) {
	r := j.req(http.MethodGet, j.users("messages", draftID, "attachments"))
	r.Query = url.Values{"$select": {"name"}}
	var out struct {
		Value []wireAttachmentName `json:"value"`
	}
	if err := j.s.gc.JSON(ctx, r, &out); err != nil {
		return nil, err
	}
	present := map[string]int{}
	for _, a := range out.Value {
		present[a.Name]++
	}
	return present, nil
}

// attach adds the attachments the draft lacks: small ones in a request,
// large ones through upload sessions.
func (j *job) attach(ctx context.Context, draftID string, present map[string]int) error {
	for i := range j.msg.Attachments {
		a := &j.msg.Attachments[i]
		if present[a.Name] > 0 {
			present[a.Name]--
			continue
		}
		if len(a.Content) >= InlineAttachmentLimit {
			if err := j.upload(ctx, draftID, a); err != nil {
				return err
			}
			continue
		}
		r := j.req(http.MethodPost, j.users("messages", draftID, "attachments"))
		r.Body, r.Once = fileAttachment(a), true
		if err := j.s.gc.JSON(ctx, r, nil); err != nil {
			return err
		}
	}
	return nil
}

// discard deletes a draft that will not be sent; a failure leaves it in
// Drafts, which is harmless.
func (j *job) discard(ctx context.Context, id string) {
	r := j.req(http.MethodDelete, j.users("messages", id))
	r.Idempotent = true
	if err := j.s.gc.JSON(context.WithoutCancel(ctx), r, nil); err != nil {
		j.s.log.LogAttrs(ctx, slog.LevelDebug, "mailsend: a refused draft stays in Drafts",
			slog.String("mailbox", j.mailbox), slog.String("error", err.Error()))
	}
}

// backoff is the wait before attempt n: Graph's Retry-After when it gave
// one (the shared limiter holds the mailbox that long anyway), else capped
// exponential backoff with full jitter.
func backoff(n int, err error) time.Duration {
	if d, ok := m365link.RetryAfter(err); ok {
		return d
	}
	ceil := min(5*time.Second, 100*time.Millisecond<<min(n-1, 10))
	return ceil/2 + rand.N(ceil/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
