package mailsend_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/mailsend"
)

// review2122: two Sends with one IdempotencyKey running at once (a host's
// outbox worker picking the row up again while the first run is still in
// flight, a double click) both look the key up, find nothing, make a
// draft each and send it: the vendor gets the message twice.
func TestReview2122ConcurrentSendsWithOneKeyDeliverOnce(t *testing.T) {
	e := newEnv(t)
	e.fg.Inject(fakegraph.Fault{Method: http.MethodPost, Route: "/users/" + e.alice.ID + "/messages", Kind: fakegraph.Latency, Delay: 300 * time.Millisecond, Times: 2})
	s := e.sender(t)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Send(context.Background(), e.ts, e.alice.ID, &mailsend.Message{Subject: "PO 4711", Body: "Please confirm.",
				To: []m365link.EmailAddress{ann}, IdempotencyKey: "outbox/4711"})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Len(t, e.fg.Deliveries(), 1, "one key, one delivered message")
}

// sentItemsLag hides a send's copy from Sent Items for lag after the send
// was accepted: Graph's 202 only hands the draft to transport, which moves
// it to Sent Items later (GRAPH.md, Mail sending). The draft is gone from
// Drafts at once, as the fake removes it.
type sentItemsLag struct {
	base     http.RoundTripper
	lag      time.Duration
	mu       sync.Mutex
	acceptAt time.Time
}

func (l *sentItemsLag) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	p := strings.ToLower(r.URL.Path)
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Method == http.MethodPost && strings.HasSuffix(p, "/send") && resp.StatusCode == http.StatusAccepted {
		l.acceptAt = time.Now()
	}
	if r.Method == http.MethodGet && strings.Contains(p, "/mailfolders/sentitems/messages") && !l.acceptAt.IsZero() && time.Since(l.acceptAt) < l.lag {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader([]byte(`{"value":[]}`)))
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	return resp, nil
}

// review2122: a process that dies after Graph accepted the send, while the
// message is on its way to Sent Items, leaves nothing a retry can find:
// the draft is gone, the copy not yet in Sent Items. The retry with the
// same key (what the docs of IdempotencyKey promise is safe "whatever
// failed in between ... the host's process dying") makes a new draft and
// sends the message a second time.
func TestReview2122RetryAfterACrashWhileTheSendIsInTransitDeliversOnce(t *testing.T) {
	e := newEnv(t)
	lag := &sentItemsLag{base: e.fg.Client().Transport, lag: time.Second}
	gc, err := graphclient.New(graphclient.Config{
		Cloud:      m365link.Cloud{Name: "fake", GraphBase: e.fg.URL(), GraphResource: e.fg.Origin()},
		HTTPClient: &http.Client{Transport: lag},
		Retry:      graphclient.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MinRetryAfter: time.Millisecond},
	})
	require.NoError(t, err)
	newSender := func() *mailsend.Sender {
		s, err := mailsend.New(mailsend.Config{Client: gc, Settle: 2 * time.Second, PollInterval: 10 * time.Millisecond})
		require.NoError(t, err)
		return s
	}
	msg := func() *mailsend.Message {
		return &mailsend.Message{Subject: "PO 4711", Body: "Please confirm.", To: []m365link.EmailAddress{ann}, IdempotencyKey: "outbox/4711"}
	}
	// The first process: lookup in Sent Items, lookup in Drafts, create, send — then it dies.
	_, err = newSender().Send(t.Context(), &crashAfter{n: 4}, e.alice.ID, msg())
	require.ErrorIs(t, err, errCrashed)
	require.Len(t, e.fg.Deliveries(), 1, "the send went out before the process died")

	// The host restarts and retries its outbox row at once.
	sent, err := newSender().Send(t.Context(), e.ts, e.alice.ID, msg())
	require.NoError(t, err)
	assert.Len(t, e.fg.Deliveries(), 1, "a retry with the same key must not send the message again")
	assert.True(t, sent.Replayed, "the retry should report the earlier send")
}

// review2122: a reply whose createReply answer is lost (a 503 after Graph
// made the draft) is made again: the first draft, made without the key,
// is never found nor cleaned up and stays in the user's Drafts.
func TestReview2122LostCreateReplyLeavesNoStrayDraft(t *testing.T) {
	e := newEnv(t)
	orig := vendorThread(e)
	e.fg.Inject(fakegraph.Fault{Route: "/createReply", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1})
	_, err := e.sender(t).Reply(t.Context(), e.ts, e.alice.ID, orig.ID, &mailsend.Message{Body: "Accepted.", IdempotencyKey: "reply/1"})
	require.NoError(t, err)
	assert.Len(t, e.fg.Deliveries(), 1)
	assert.Equal(t, 0, e.folderCount(t, e.alice.ID, "drafts"), "no stray reply draft in the user's Drafts")
}
