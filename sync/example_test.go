package sync_test

import (
	"context"
	"fmt"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// Sync one mailbox into the in-memory sink, then pick up a change.
func ExampleEngine_SyncOnce() {
	fg := fakegraph.New() // stands in for graph.microsoft.com
	defer fg.Close()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 1})
	user := seed.Mailboxes[0].User
	mb := m365link.Mailbox{TenantID: user.TenantID, UserID: user.ID, UPN: user.UPN}

	sink := &m365sync.MemorySink{}
	engine, err := m365sync.New(m365sync.Config{
		TenantID:     user.TenantID,
		GraphBaseURL: fg.URL(),
		HTTPClient:   fg.Client(),
		Tokens:       func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} }, // a tokens.Source in real life
		Sink:         sink,
		State:        &m365sync.MemoryState{},
	})
	if err != nil {
		panic(err)
	}
	if err := engine.SyncOnce(context.Background(), mb); err != nil {
		panic(err)
	}
	st, _ := engine.Status(mb.Key())
	fmt.Println(st.State, len(sink.IDs(mb)), "messages")

	fg.DeleteMessage(user.ID, seed.Mailboxes[0].Inbox[0])
	_ = engine.SyncOnce(context.Background(), mb)
	fmt.Println(len(sink.IDs(mb)), "messages after a deletion")
	// Output:
	// idle 30 messages
	// 29 messages after a deletion
}
