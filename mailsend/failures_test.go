package mailsend_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/mailsend"
)

// bigFile is the failure tests' large attachment: through an upload
// session, in four chunks of testChunk.
var bigFile = sync.OnceValue(func() []byte { return content(3<<20+512<<10, 7) })

const testChunk = 1 << 20

// keyed is the message every failure test sends: a body, a small
// attachment in the draft and a large one through an upload session,
// under one idempotency key.
func keyed() *mailsend.Message {
	return &mailsend.Message{Subject: "PO 4711", Body: "Please confirm.", To: []m365link.EmailAddress{ann},
		Attachments: []mailsend.Attachment{
			{Name: "terms.txt", ContentType: "text/plain", Content: []byte("net 30")},
			{Name: "drawing.pdf", ContentType: "application/pdf", Content: bigFile()},
		},
		IdempotencyKey: "outbox/4711"}
}

// checkOnce asserts that exactly one message went out, whole, and that
// sent (when the call returned one) is it.
func checkOnce(t *testing.T, e *env, sent *mailsend.Sent, replayed bool) {
	t.Helper()
	d := e.fg.Deliveries()
	require.Len(t, d, 1, "exactly one delivered message")
	msg := keyed()
	assert.Equal(t, []any{"PO 4711", "Please confirm.", []fakegraph.Address{addr(ann)}}, []any{d[0].Subject, d[0].Body, d[0].To})
	assert.ElementsMatch(t, wantFiles(msg.Attachments), files(d[0].Attachments), "each attachment once")
	if sent != nil {
		assert.Equal(t, sentOf(t, e, d[0], replayed), sent)
	}
	assert.Equal(t, 0, e.folderCount(t, e.alice.ID, "drafts"), "no draft left with the key")
}

// Every failure point the fake can inject: the call that meets it either
// recovers by itself or fails, and a retry with a new Sender (a new
// process) and the same key never delivers a second message.
func TestRetriedSendNeverDeliversTwice(t *testing.T) {
	cases := []struct {
		name   string
		faults []fakegraph.Fault
		header time.Duration // the client's header timeout, 0 = the default
		// recovers: the first call returns the sent message by itself.
		recovers bool
	}{
		{name: "before create: 503", recovers: true,
			faults: []fakegraph.Fault{{Method: http.MethodPost, Route: "/messages", Kind: fakegraph.Unavailable503, Times: 1}}},
		{name: "before create: connection reset", recovers: true,
			faults: []fakegraph.Fault{{Method: http.MethodPost, Route: "/messages", Kind: fakegraph.ConnReset, Times: 1}}},
		{name: "after create: the draft exists, the answer is lost", recovers: true,
			faults: []fakegraph.Fault{{Method: http.MethodPost, Route: "/messages", Kind: fakegraph.ConnReset, AfterServe: true, Times: 1}}},
		{name: "after create: 503 once Graph made the draft", recovers: true,
			faults: []fakegraph.Fault{{Method: http.MethodPost, Route: "/messages", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1}}},
		{name: "after upload: the last chunk's 201 is lost", recovers: true,
			faults: []fakegraph.Fault{{Method: http.MethodPut, Route: "AttachmentSessions", Kind: fakegraph.ConnReset, AfterServe: true, Skip: 3, Times: 1}}},
		{name: "after upload: the upload session is created, its answer lost", recovers: true,
			faults: []fakegraph.Fault{{Method: http.MethodPost, Route: "createUploadSession", Kind: fakegraph.ConnReset, AfterServe: true, Times: 1}}},
		{name: "after send accepted: 503", recovers: true,
			faults: []fakegraph.Fault{{Route: "/send", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1}}},
		{name: "after send accepted: connection reset", recovers: true,
			faults: []fakegraph.Fault{{Route: "/send", Kind: fakegraph.ConnReset, AfterServe: true, Times: 1}}},
		{name: "after send accepted: timeout", recovers: true, header: 300 * time.Millisecond,
			faults: []fakegraph.Fault{{Route: "/send", Kind: fakegraph.Latency, Delay: time.Second, AfterServe: true, Times: 1}}},
		{name: "send: 503 before Graph acted", recovers: true,
			faults: []fakegraph.Fault{{Route: "/send", Kind: fakegraph.Unavailable503, RetryAfter: "0", Times: 1}}},
		{name: "send: timeout, Graph acts after the client gave up", recovers: true, header: 300 * time.Millisecond,
			faults: []fakegraph.Fault{{Route: "/send", Kind: fakegraph.Latency, Delay: time.Second, Times: 1}}},
		{name: "503 at every step", recovers: true,
			faults: []fakegraph.Fault{
				{Method: http.MethodGet, Route: "/messages", Kind: fakegraph.Unavailable503, Times: 1},
				{Method: http.MethodPost, Route: "/messages", Kind: fakegraph.Unavailable503, Times: 1},
				{Method: http.MethodPost, Route: "createUploadSession", Kind: fakegraph.Unavailable503, Times: 1},
				{Method: http.MethodPut, Route: "AttachmentSessions", Kind: fakegraph.Unavailable503, Times: 1},
				{Route: "/send", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1},
			}},
		{name: "after send accepted: 503, then Sent Items unreachable for the rest of the call", recovers: false,
			faults: []fakegraph.Fault{{Route: "/send", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1},
				{Route: "/mailFolders/sentitems", Kind: fakegraph.Unavailable503, Skip: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.chunk = testChunk
			if c.header > 0 {
				e.header = c.header
			}
			var removes []func()
			for _, f := range c.faults {
				removes = append(removes, e.fg.Inject(f))
			}
			sent, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, keyed())
			if c.recovers {
				require.NoError(t, err)
				checkOnce(t, e, sent, false)
			} else {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "test-token")
			}
			for _, r := range removes {
				r()
			}
			retried, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, keyed())
			require.NoError(t, err)
			checkOnce(t, e, retried, true)
		})
	}
}

// A crash: the process dies between two steps — at every step of a send —
// and a new process retries with the same key. One message goes out, and
// the retry returns it.
func TestCrashAtEveryStepThenRetry(t *testing.T) {
	// A clean run says how many authenticated requests a send makes.
	clean := newEnv(t)
	clean.chunk = testChunk
	_, err := clean.sender(t).Send(t.Context(), clean.ts, clean.alice.ID, keyed())
	require.NoError(t, err)
	var steps []string
	for _, r := range clean.fg.Requests() {
		if r.Header.Get("Authorization") != "" {
			steps = append(steps, r.Route)
		}
	}
	require.Equal(t, []string{
		"GET /users/{id}/mailFolders/{id}/messages",
		"GET /users/{id}/messages",
		"POST /users/{id}/messages",
		"POST /users/{id}/messages/{id}/attachments/createuploadsession", // the fake lower-cases action names
		"POST /users/{id}/messages/{id}/send",
		"GET /users/{id}/mailFolders/{id}/messages",
	}, steps)

	for n := range len(steps) {
		t.Run("dies before "+steps[n], func(t *testing.T) {
			e := newEnv(t)
			e.chunk = testChunk
			s, err := mailsend.New(mailsend.Config{Client: e.client(t), PollInterval: 10 * time.Millisecond, ChunkSize: testChunk})
			require.NoError(t, err)
			_, err = s.Send(t.Context(), &crashAfter{n: int64(n)}, e.alice.ID, keyed())
			require.ErrorIs(t, err, errCrashed)
			wentOut := len(e.fg.Deliveries())

			sent, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, keyed())
			require.NoError(t, err)
			checkOnce(t, e, sent, wentOut == 1)
		})
	}
}

func TestOutcomeUnknownWhenLookupsKeepFailing(t *testing.T) {
	e := newEnv(t)
	// The send's answer is lost and Sent Items cannot be read: the call
	// cannot tell whether the message went out, and says so.
	e.fg.Inject(fakegraph.Fault{Route: "/send", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1})
	e.fg.Inject(fakegraph.Fault{Route: "/mailFolders/sentitems", Kind: fakegraph.Unavailable503, Skip: 1})
	s, err := mailsend.New(mailsend.Config{Client: e.client(t), Settle: 100 * time.Millisecond, PollInterval: 10 * time.Millisecond, MaxAttempts: 3})
	require.NoError(t, err)
	_, err = s.Send(t.Context(), e.ts, e.alice.ID, &mailsend.Message{To: []m365link.EmailAddress{ann}, IdempotencyKey: "x"})
	require.ErrorIs(t, err, mailsend.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, m365link.ErrUnavailable)
	assert.Len(t, e.fg.Deliveries(), 1)
}

// A draft discarded after a refused send lies in Deleted Items with its
// key: the lookup across folders must not take it for a message in
// transit. The retry, once the cause is fixed, sends.
func TestRetryAfterARefusedSendSends(t *testing.T) {
	e := newEnv(t)
	e.fg.SetSendAllowed(func(string, *http.Request) bool { return false })
	msg := &mailsend.Message{Subject: "PO 4711", To: []m365link.EmailAddress{ann}, IdempotencyKey: "outbox/9"}
	_, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, msg)
	require.ErrorIs(t, err, mailsend.ErrAccessDenied)
	require.Equal(t, 1, e.folderCount(t, e.alice.ID, "deleteditems"), "the refused draft was discarded")

	e.fg.SetSendAllowed(nil)
	sent, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, msg)
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
}
