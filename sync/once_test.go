package sync_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
)

// A host whose users each connected (delegated tokens, no app-only
// permission) lists their mailboxes in the policy: RunOnce syncs them
// with each one's token and never reads the directory; one mailbox whose
// user must reconnect is reported, typed, while the others finish. The
// users connect, and one is blocked, on m365linktest's fake tenant.
func TestRunOnceOverConnectedUsers(t *testing.T) {
	ctx := context.Background()
	tenant := m365linktest.New(t)
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 3, MessagesPerMailbox: 25, Vendors: 2, Seed: 38})
	tenant.SetAccessTokenLifetime(time.Minute) // every Token call refreshes, so a blocked user shows at once
	var mbs []m365link.Mailbox
	for _, u := range gen.Users {
		_, err := tenant.Browser(u.UPN).Connect(ctx, nil, nil)
		require.NoError(t, err)
		mbs = append(mbs, u.Mailbox())
	}
	tenant.BlockSignIn(mbs[1].UPN, true)
	sink := &m365sync.MemorySink{}
	e, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens: func(mb m365link.Mailbox) m365sync.TokenSource {
			if mb.UserID == "" {
				t.Error("asked for a directory token")
			}
			return tenant.Tokens().Source(mb.Account())
		},
		DirectoryToken: failingToken{errors.New("no app-only permission")},
		Policy:         m365sync.Policy{Mailboxes: []m365link.Mailbox{mbs[2], mbs[0], mbs[1]}},
		Sink:           sink, State: &m365sync.MemoryState{},
	})
	require.NoError(t, err)

	got, err := e.RunOnce(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for route := range tenant.Stats("").Routes {
		assert.Equal(t, "POST /$batch", route, "no directory read")
	}
	assert.Zero(t, tenant.TokenRequests("client_credentials"))
	byUser := map[string]m365sync.PassResult{}
	for _, r := range got {
		byUser[r.Mailbox.UserID] = r
		assert.Positive(t, r.Duration)
	}
	for _, i := range []int{0, 2} {
		r := byUser[mbs[i].UserID]
		assert.Equal(t, m365sync.PassResult{Mailbox: mbs[i], State: m365sync.StateIdle, Pages: r.Pages, Items: 25,
			Requests: int64(r.Pages + 1), Duration: r.Duration}, r, "pages + one $batch")
		want := append(slices.Clone(gen.Mailboxes[i].Inbox), gen.Mailboxes[i].SentItems...)
		slices.Sort(want)
		assert.Equal(t, want, sink.IDs(mbs[i]))
	}
	bad := byUser[mbs[1].UserID]
	assert.Equal(t, m365sync.StateReconnectRequired, bad.State)
	var re *m365link.ReconnectError
	require.ErrorAs(t, bad.Err, &re)
	assert.Equal(t, m365link.ReasonUserDisabled, re.Reason)
	assert.Zero(t, bad.Items)
	assert.Empty(t, sink.IDs(mbs[1]))
	keys := []string{got[0].Mailbox.Key(), got[1].Mailbox.Key(), got[2].Mailbox.Key()}
	assert.IsIncreasing(t, keys, "ordered by key")
}
