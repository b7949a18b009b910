package sync_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

type staticToken struct{}

func (staticToken) Token(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "test"}, nil
}

type harness struct {
	fg    *fakegraph.Server
	seed  *fakegraph.SeedResult
	sink  *m365sync.MemorySink
	state *m365sync.MemoryState
}

func newHarness(t testing.TB, spec fakegraph.SeedSpec, opts ...fakegraph.Option) *harness {
	t.Helper()
	fg := fakegraph.New(opts...)
	t.Cleanup(fg.Close)
	return &harness{fg: fg, seed: fakegraph.Seed(fg, spec), sink: &m365sync.MemorySink{}, state: &m365sync.MemoryState{}}
}

// config is the engine configuration tests start from: small pages, fast retries.
func (h *harness) config(sink m365sync.Sink, state m365sync.StateStore) m365sync.Config {
	if sink == nil {
		sink = h.sink
	}
	if state == nil {
		state = h.state
	}
	return m365sync.Config{
		TenantID:     h.seed.Tenants[0].Tenant.ID,
		GraphBaseURL: h.fg.URL(),
		HTTPClient:   h.fg.Client(),
		Tokens:       func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} },
		Sink:         sink,
		State:        state,
		PageSize:     10,
		Retry:        m365sync.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MinRetryAfter: 5 * time.Millisecond, MaxAttempts: 8},
	}
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

// live lists the IDs Graph holds in the synced folders of mailbox i.
func (h *harness) live(i int, folders ...string) []string {
	if len(folders) == 0 {
		folders = []string{"inbox", "sentitems"}
	}
	u := h.seed.Mailboxes[i].User
	var ids []string
	for _, id := range h.allIDs(i) {
		m, ok := h.fg.Message(u.ID, id)
		if !ok {
			continue
		}
		for _, f := range folders {
			if folderIs(h, u.ID, m.ParentFolderID, f) {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	return slices.Compact(ids)
}

// extra tracks messages tests add, so live can find them.
var extraMu gosync.Mutex
var extra = map[string][]string{}

func (h *harness) add(i int, folder string, m fakegraph.Message) string {
	u := h.seed.Mailboxes[i].User
	id := h.fg.AddMessage(u.ID, folder, m).ID
	extraMu.Lock()
	extra[u.ID] = append(extra[u.ID], id)
	extraMu.Unlock()
	return id
}

func (h *harness) allIDs(i int) []string {
	mb := h.seed.Mailboxes[i]
	extraMu.Lock()
	defer extraMu.Unlock()
	return append(append(append([]string(nil), mb.Inbox...), mb.SentItems...), extra[mb.User.ID]...)
}

var folderIDs gosync.Map // userID/name -> id

func folderIs(h *harness, user, folderID, name string) bool {
	return folderID == folderIDOf(h, user, name)
}

func folderIDOf(h *harness, user, name string) string {
	if v, ok := folderIDs.Load(user + "/" + name); ok {
		return v.(string)
	}
	// A message added to the folder tells its ID.
	m := h.fg.AddMessage(user, name, fakegraph.Message{Subject: "probe"})
	h.fg.DeleteMessage(user, m.ID)
	folderIDs.Store(user+"/"+name, m.ParentFolderID)
	return m.ParentFolderID
}

// errSink fails on chosen Apply calls: before committing (the page was
// fetched) or after (the sink committed, but the engine hears an error).
type errSink struct {
	*m365sync.MemorySink
	mu     gosync.Mutex
	calls  int
	failAt int
	after  bool
}

var errInjected = errors.New("injected failure")

func (s *errSink) Apply(ctx context.Context, p *m365sync.Page) error {
	s.mu.Lock()
	s.calls++
	fail := s.calls == s.failAt
	s.mu.Unlock()
	if fail && !s.after {
		return errInjected
	}
	if err := s.MemorySink.Apply(ctx, p); err != nil {
		return err
	}
	if fail {
		return errInjected
	}
	return nil
}

// errState fails the n-th SaveCursor after it saved: the cursor is durable
// but the engine stops there, as if it crashed right after saving.
type errState struct {
	*m365sync.MemoryState
	mu     gosync.Mutex
	saves  int
	failAt int
}

func (s *errState) SaveCursor(ctx context.Context, mb, f string, c m365sync.Cursor) error {
	if err := s.MemoryState.SaveCursor(ctx, mb, f, c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saves == s.failAt {
		return errInjected
	}
	return nil
}
