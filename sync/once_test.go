package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// A host whose users each connected (delegated tokens, no app-only
// permission) lists their mailboxes in the policy: RunOnce syncs them
// with each one's token and never reads the directory; one mailbox whose
// user must reconnect is reported, typed, while the others finish.
func TestRunOnceOverConnectedUsers(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 3, MessagesPerMailbox: 25, Vendors: 2, Seed: 38})
	reconnect := &m365link.ReconnectError{Reason: m365link.ReasonRevoked, Code: "AADSTS50173"}
	cfg := h.config(nil, nil)
	cfg.Tokens = func(mb m365link.Mailbox) m365sync.TokenSource {
		if mb.UserID == "" {
			t.Error("asked for a directory token")
		}
		if mb.UserID == h.mailbox(1).UserID {
			return failingToken{reconnect}
		}
		return staticToken{}
	}
	cfg.DirectoryToken = failingToken{errors.New("no app-only permission")}
	cfg.Policy = m365sync.Policy{Mailboxes: []m365link.Mailbox{h.mailbox(2), h.mailbox(0), h.mailbox(1)}}
	e := h.engine(t, cfg)

	got, err := e.RunOnce(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, r := range h.fg.Requests() {
		assert.False(t, strings.HasSuffix(r.Path, "/users") || strings.Contains(r.Path, "/groups/"), "no directory read: %s", r.Path)
	}
	byUser := map[string]m365sync.PassResult{}
	for _, r := range got {
		byUser[r.Mailbox.UserID] = r
		assert.Positive(t, r.Duration)
	}
	for _, i := range []int{0, 2} {
		r := byUser[h.mailbox(i).UserID]
		n := len(h.live(t, i))
		assert.Equal(t, m365sync.PassResult{Mailbox: h.mailbox(i), State: m365sync.StateIdle, Pages: r.Pages, Items: n,
			Requests: int64(r.Pages + 1), Duration: r.Duration}, r, "pages + one $batch")
		h.assertMirror(t, i)
	}
	bad := byUser[h.mailbox(1).UserID]
	assert.Equal(t, m365sync.StateReconnectRequired, bad.State)
	assert.ErrorIs(t, bad.Err, m365link.ErrReconnectRequired)
	assert.Zero(t, bad.Items)
	keys := []string{got[0].Mailbox.Key(), got[1].Mailbox.Key(), got[2].Mailbox.Key()}
	assert.IsIncreasing(t, keys, "ordered by key")
}
