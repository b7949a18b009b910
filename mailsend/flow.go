package mailsend

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// A send is a small state machine driven by what the mailbox holds, so
// that a retry — within the call, or by a new process after a crash —
// picks up where the last one stopped and never sends twice:
//
//	look up the key: in Sent Items → done (the message went out)
//	                 in Drafts     → complete its attachments, send it
//	                 nowhere       → create the draft (with the key), attach, send
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
	sent, draft, err := j.lookup(ctx)
	if err != nil {
		return nil, wrap("find by key", err), uncertain(err)
	}
	if sent != nil {
		sent.Replayed = !j.mayHaveSent
		return sent, nil, false
	}
	if draft == nil && j.mayHaveSent {
		// This call's draft is gone: the send went through, and its copy
		// is on its way to Sent Items.
		return j.settle(ctx)
	}
	var present map[string]int
	if draft == nil {
		if draft, present, err = j.create(ctx); err != nil {
			return nil, err, uncertain(err)
		}
	} else if len(j.msg.Attachments) > 0 {
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

// lookup finds the message by its key: sent (in Sent Items) or a draft.
func (j *job) lookup(ctx context.Context) (sent *Sent, draft *wireMessage, err error) {
	if sent, err = j.findSent(ctx); err != nil || sent != nil {
		return sent, nil, err
	}
	list, err := j.find(ctx, "drafts")
	if err != nil {
		return nil, nil, err
	}
	for i := range list {
		if list[i].IsDraft {
			return nil, &list[i], nil
		}
	}
	return nil, nil, nil
}

func (j *job) findSent(ctx context.Context) (*Sent, error) {
	list, err := j.find(ctx, "sentitems")
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

func (j *job) find(ctx context.Context, folder string) ([]wireMessage, error) {
	r := j.req(http.MethodGet, j.users("mailFolders", folder, "messages"))
	r.Query = url.Values{"$filter": {j.keyFilter()}, "$select": {lookupSelect}, "$top": {"5"}}
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

	r := j.req(http.MethodPost, j.users("messages", j.original, j.action))
	r.Body, r.Once = struct{}{}, true
	var made wireMessage
	if err := j.s.gc.JSON(ctx, r, &made); err != nil {
		return nil, nil, classify(j.action, j.mailbox, err)
	}
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
		return nil, nil, classify("complete "+j.action+" draft", j.mailbox, err)
	}
	// A forward's draft carries the original's attachments: only ours
	// count as present, and none is yet.
	return &out, map[string]int{}, nil
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
