package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/notify"
)

// A sync engine that polls hourly, and change notifications that bring new
// mail within a second: the manager subscribes every mailbox the engine
// syncs, and its handler triggers the engine's passes.
func Example() {
	tenant := m365linktest.Start() // a fake Microsoft 365 tenant
	defer tenant.Close()
	alice := tenant.AddUser(m365linktest.User{DisplayName: "Alice Smith"})

	state, sink := &m365sync.MemoryState{}, &m365sync.MemorySink{}
	tokens := func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() }
	engine, err := m365sync.New(m365sync.Config{
		Client: tenant.Graph(), TenantID: tenant.ID(), Tokens: tokens,
		Policy: m365sync.Policy{Mailboxes: []m365link.Mailbox{alice.Mailbox()}},
		Sink:   sink, State: state, Schedule: m365sync.Schedule{Interval: time.Hour},
	})
	if err != nil {
		panic(err)
	}

	// The host's web server; in production an https URL Graph can reach.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mgr, err := notify.New(notify.Config{
		Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens:          tokens,
		NotificationURL: srv.URL + "/m365/notify",
		Target:          engine, Mailboxes: engine.Mailboxes, State: state,
	})
	if err != nil {
		panic(err)
	}
	mux.Handle("/m365/notify", mgr.Handler())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go engine.Run(ctx)
	go mgr.Run(ctx)
	waitUntil(func() bool { return len(tenant.Subscriptions()) == 2 })
	fmt.Println("subscribed:", len(tenant.Subscriptions()), "(mail and events)")

	// The first pass is over; new mail arrives in Graph...
	waitUntil(func() bool {
		st, ok := engine.Status(alice.Mailbox().Key())
		return ok && st.State == m365sync.StateIdle
	})
	m := tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: "Quote #42",
		From: m365link.EmailAddress{Address: "sam@acme.example"}})
	start := time.Now()
	waitUntil(func() bool { return slices.Contains(sink.IDs(alice.Mailbox()), m.ID) })
	fmt.Println("in the sink within a second:", time.Since(start) < time.Second)
	// Output:
	// subscribed: 2 (mail and events)
	// in the sink within a second: true
}

func waitUntil(cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// Validate names every problem at once.
func ExampleConfig_Validate() {
	err := notify.Config{TenantID: "contoso.onmicrosoft.com", NotificationURL: "http://app.example/notify",
		Resources: []notify.Resource{notify.Mail, notify.MailFolder("inbox"), "calendars"}}.Validate()
	var ce *notify.ConfigError
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// Tokens is required (a token source per mailbox)
	// NotificationURL must use https (Graph posts to https only; http is allowed on loopback for tests)
	// Resources[2] "calendars" is not messages, events, contacts, mailFolders/{id}/messages or contactFolders/{id}/contacts
	// Target is required (e.g. the sync engine)
	// Mailboxes is required (e.g. the sync engine's Mailboxes method)
	// State is required (the sync engine's StateStore)
}
