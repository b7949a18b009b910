package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

type failingToken struct{ err error }

func (f failingToken) Token(context.Context) (*oauth2.Token, error) { return nil, f.err }

// harness is a fake tenant, a recording sink on a MemorySink, and memory
// state, plus what the tests need to know about the fake's mailboxes.
type harness struct {
	fg    *fakegraph.Server
	seed  *fakegraph.SeedResult
	sink  *recordingSink
	state *m365sync.MemoryState

	mu     gosync.Mutex
	ids    map[string][]string          // user ID -> every message ID ever created
	folder map[string]map[string]string // user ID -> folder name -> ID
}

func newHarness(t testing.TB, spec fakegraph.SeedSpec, opts ...fakegraph.Option) *harness {
	t.Helper()
	fg := fakegraph.New(opts...)
	t.Cleanup(fg.Close)
	h := &harness{fg: fg, seed: fakegraph.Seed(fg, spec), sink: newRecordingSink(), state: &m365sync.MemoryState{},
		ids: map[string][]string{}, folder: map[string]map[string]string{}}
	for _, mb := range h.seed.Mailboxes {
		h.ids[mb.User.ID] = append(append([]string(nil), mb.Inbox...), mb.SentItems...)
	}
	return h
}

// config is the engine configuration tests start from: small pages, fast
// retries.
func (h *harness) config(sink m365sync.Sink, state m365sync.StateStore) m365sync.Config {
	if sink == nil {
		sink = h.sink
	}
	if state == nil {
		state = h.state
	}
	return m365sync.WithTestPaging(m365sync.Config{
		TenantID: h.seed.Tenants[0].Tenant.ID,
		Client:   h.client(retryAttempts(8)),
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} },
		Sink:     sink,
		State:    state,
	}, 10, 0)
}

// fakeCloud is a cloud whose Graph is the fake.
func fakeCloud(fg *fakegraph.Server) m365link.Cloud {
	return m365link.Cloud{Name: "fake", GraphBase: fg.URL(), GraphResource: fg.Origin()}
}

// client is a Graph client on the fake with quick retries.
func (h *harness) client(r graphclient.Retry) *graphclient.Client {
	c, err := graphclient.New(graphclient.Config{Cloud: fakeCloud(h.fg), HTTPClient: h.fg.Client(), Retry: r})
	if err != nil {
		panic(err)
	}
	return c
}

// retryAttempts is the tests' retry policy: quick waits, n attempts.
func retryAttempts(n int) graphclient.Retry {
	return graphclient.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MinRetryAfter: 5 * time.Millisecond, MaxAttempts: n}
}

func (h *harness) engine(t testing.TB, cfg m365sync.Config) *m365sync.Engine {
	t.Helper()
	e, err := m365sync.New(cfg)
	require.NoError(t, err)
	return e
}

func (h *harness) mailbox(i int) m365link.Mailbox {
	u := h.seed.Mailboxes[i].User
	return m365link.Mailbox{TenantID: u.TenantID, UserID: u.ID, UPN: u.UPN}
}

// folderID asks the fake for the ID of a mailbox's folder by well-known
// name (over HTTP, so that the fake's state does not change).
func (h *harness) folderID(t testing.TB, i int, name string) string {
	t.Helper()
	u := h.seed.Mailboxes[i].User.ID
	h.mu.Lock()
	id, ok := h.folder[u][name]
	h.mu.Unlock()
	if ok {
		return id
	}
	req, err := http.NewRequest(http.MethodGet, h.fg.URL()+"/users/"+u+"/mailFolders/"+name+"?$select=id", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test")
	resp, err := h.fg.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var f struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
	h.mu.Lock()
	if h.folder[u] == nil {
		h.folder[u] = map[string]string{}
	}
	h.folder[u][name] = f.ID
	h.mu.Unlock()
	return f.ID
}

// add adds a message to mailbox i's folder (a well-known name or an ID).
func (h *harness) add(i int, folder string, m fakegraph.Message) string {
	u := h.seed.Mailboxes[i].User.ID
	id := h.fg.AddMessage(u, folder, m).ID
	h.mu.Lock()
	h.ids[u] = append(h.ids[u], id)
	h.mu.Unlock()
	return id
}

// liveFolders maps every message Graph holds in the given folders (IDs) of
// mailbox i to its folder; default Inbox and Sent Items.
func (h *harness) liveFolders(t testing.TB, i int, folders ...string) map[string]string {
	t.Helper()
	if len(folders) == 0 {
		folders = []string{h.folderID(t, i, "inbox"), h.folderID(t, i, "sentitems")}
	}
	u := h.seed.Mailboxes[i].User.ID
	h.mu.Lock()
	ids := append([]string(nil), h.ids[u]...)
	h.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		m, ok := h.fg.Message(u, id)
		if ok && contains(folders, m.ParentFolderID) {
			out[id] = m.ParentFolderID
		}
	}
	return out
}

// live lists the IDs Graph holds in the given folders of mailbox i, sorted.
func (h *harness) live(t testing.TB, i int, folders ...string) []string {
	return keys(h.liveFolders(t, i, folders...))
}

// assertMirror checks that the sink holds exactly what Graph holds in the
// synced folders of mailbox i: the same IDs, each in its current folder,
// with its current subject.
func (h *harness) assertMirror(t testing.TB, i int, folders ...string) bool {
	t.Helper()
	mb := h.mailbox(i)
	want := h.liveFolders(t, i, folders...)
	got := h.sink.Folders(mb)
	if !assert.Equal(t, want, got, "sink ≠ Graph for %s", mb.UPN) {
		return false
	}
	ok := true
	for id := range want {
		live, _ := h.fg.Message(mb.UserID, id)
		stored, _, _ := h.sink.Message(mb, id)
		ok = assert.Equal(t, live.Subject, stored.Subject, "subject of %s", id) && ok
	}
	return ok
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// recordingSink is a MemorySink that also counts what it was handed: the
// upserts of every ID, the resets, and calls that overlapped for one
// mailbox (which the engine promises never happen).
type recordingSink struct {
	*m365sync.MemorySink
	mu       gosync.Mutex
	upserts  map[string]int // message ID -> times upserted
	resets   []m365sync.Reset
	removed  []m365link.Mailbox
	inside   map[string]int // mailbox key -> calls in progress
	overlaps int
}

func newRecordingSink() *recordingSink {
	return &recordingSink{MemorySink: &m365sync.MemorySink{}, upserts: map[string]int{}, inside: map[string]int{}}
}

func (s *recordingSink) enter(mb m365link.Mailbox) func() {
	s.mu.Lock()
	s.inside[mb.Key()]++
	if s.inside[mb.Key()] > 1 {
		s.overlaps++
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.inside[mb.Key()]--
		s.mu.Unlock()
	}
}

func (s *recordingSink) Apply(ctx context.Context, p *m365sync.Page) error {
	defer s.enter(p.Mailbox)()
	if err := s.MemorySink.Apply(ctx, p); err != nil {
		return err
	}
	s.mu.Lock()
	for _, m := range p.Upserts {
		s.upserts[m.ID]++
	}
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) Reset(ctx context.Context, r m365sync.Reset) error {
	defer s.enter(r.Mailbox)()
	s.mu.Lock()
	s.resets = append(s.resets, r)
	s.mu.Unlock()
	return s.MemorySink.Reset(ctx, r)
}

func (s *recordingSink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	s.mu.Lock()
	s.removed = append(s.removed, mb)
	s.mu.Unlock()
	return s.MemorySink.MailboxRemoved(ctx, mb)
}

// Folders maps every message the sink holds for mb to its folder.
func (s *recordingSink) Folders(mb m365link.Mailbox) map[string]string {
	out := map[string]string{}
	for _, id := range s.IDs(mb) {
		_, f, _ := s.Message(mb, id)
		out[id] = f
	}
	return out
}

func (s *recordingSink) upsertCount(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upserts[id]
}

func (s *recordingSink) overlapCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overlaps
}

var errInjected = errors.New("injected failure")

// crashSink fails the n-th Apply, before committing it (the page was
// fetched, the sink never took it) or after (the sink committed, but the
// engine hears an error).
type crashSink struct {
	m365sync.Sink
	mu     gosync.Mutex
	calls  int
	failAt int
	after  bool
}

func (s *crashSink) Apply(ctx context.Context, p *m365sync.Page) error {
	s.mu.Lock()
	s.calls++
	fail := s.calls == s.failAt
	s.mu.Unlock()
	if fail && !s.after {
		return errInjected
	}
	if err := s.Sink.Apply(ctx, p); err != nil {
		return err
	}
	if fail {
		return errInjected
	}
	return nil
}

// crashState fails the n-th save of a cursor after it saved: the cursor
// is durable but the engine stops there, as if it crashed right after.
type crashState struct {
	m365sync.StateStore
	mu     gosync.Mutex
	saves  int
	failAt int
}

func (s *crashState) Save(ctx context.Context, mb, key string, v []byte) error {
	if err := s.StateStore.Save(ctx, mb, key, v); err != nil {
		return err
	}
	if !strings.HasPrefix(key, "f:") {
		return nil // the mailbox's record, not a cursor
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saves == s.failAt {
		return errInjected
	}
	return nil
}
