package mailsend_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/mailsend"
)

// t0 is the fake's clock: sent times are exact.
var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

type env struct {
	fg     *fakegraph.Server
	alice  *fakegraph.User
	ts     graphclient.TokenSource
	header time.Duration // the client's header timeout
	chunk  int           // the upload chunk size, 0 = the default
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fg := fakegraph.New(fakegraph.WithClock(func() time.Time { return t0 }))
	t.Cleanup(fg.Close)
	tenant := fg.AddTenant(fakegraph.Tenant{DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	alice := fg.AddUser(tenant.ID, fakegraph.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer", MailEnabled: true, AccountEnabled: true})
	return &env{fg: fg, alice: alice, ts: graphclient.StaticToken("test-token"), header: 5 * time.Second}
}

// client is a new Graph client on the fake: a new process's, when a test
// simulates a crash.
func (e *env) client(t *testing.T) *graphclient.Client {
	t.Helper()
	gc, err := graphclient.New(graphclient.Config{
		Cloud:      m365link.Cloud{Name: "fake", GraphBase: e.fg.URL(), GraphResource: e.fg.Origin()},
		HTTPClient: e.fg.Client(),
		Retry:      graphclient.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MinRetryAfter: time.Millisecond},
		Timeouts:   graphclient.Timeouts{Header: e.header},
	})
	require.NoError(t, err)
	return gc
}

func (e *env) sender(t *testing.T) *mailsend.Sender {
	t.Helper()
	s, err := mailsend.New(mailsend.Config{Client: e.client(t), Settle: 2 * time.Second, PollInterval: 10 * time.Millisecond, ChunkSize: e.chunk})
	require.NoError(t, err)
	return s
}

// sentOf is what a Send should return for a delivery.
func sentOf(t *testing.T, e *env, d fakegraph.Delivery, replayed bool) *mailsend.Sent {
	t.Helper()
	return &mailsend.Sent{ID: d.SentItemID, InternetMessageID: d.InternetMessageID, ConversationID: d.ConversationID,
		SentAt: d.SentDateTime, Replayed: replayed}
}

// file is an attachment as the fake delivered it, its content reduced to
// a digest so that whole values compare without megabytes of diff.
type file struct {
	Name, ContentType, ContentID string
	IsInline                     bool
	Size                         int
	SHA256                       string
}

func files(as []fakegraph.Attachment) []file {
	out := []file{}
	for _, a := range as {
		sum := sha256.Sum256(a.Content)
		out = append(out, file{a.Name, a.ContentType, a.ContentID, a.IsInline, len(a.Content), hex.EncodeToString(sum[:])})
	}
	return out
}

func wantFiles(as []mailsend.Attachment) []file {
	out := []file{}
	for _, a := range as {
		sum := sha256.Sum256(a.Content)
		out = append(out, file{a.Name, a.ContentType, a.ContentID, a.ContentID != "", len(a.Content), hex.EncodeToString(sum[:])})
	}
	return out
}

// content is n deterministic bytes: a pseudo-random block of 64 KiB
// (an odd size, so chunks never line up with it), repeated.
func content(n int, seed byte) []byte {
	block := make([]byte, 65521)
	x := uint32(seed) + 1
	for i := range block {
		x = x*1664525 + 1013904223
		block[i] = byte(x >> 24)
	}
	b := make([]byte, n)
	for i := 0; i < n; i += copy(b[i:], block) {
	}
	return b
}

// folderCount counts the messages of a folder through the fake's API.
func (e *env) folderCount(t *testing.T, user, folder string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.fg.URL()+"/users/"+user+"/mailFolders/"+folder+"/messages?$top=100&$select=id", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test-token")
	resp, err := e.fg.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Value []json.RawMessage `json:"value"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return len(out.Value)
}

// crashAfter is a token source for a process that dies after n requests:
// the next request is never sent.
type crashAfter struct {
	n     int64
	calls atomic.Int64
}

var errCrashed = errors.New("test: the process died here")

func (c *crashAfter) Token(context.Context) (*oauth2.Token, error) {
	if c.calls.Add(1) > c.n {
		return nil, errCrashed
	}
	return &oauth2.Token{AccessToken: "test-token"}, nil
}

// routes lists the authenticated requests the fake saw, as "METHOD /route".
func routes(fg *fakegraph.Server) []string {
	var out []string
	for _, r := range fg.Requests() {
		out = append(out, r.Route)
	}
	return out
}
