package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/graph"
)

// One delta round over a mailbox's Inbox, page by page, keeping the
// deltaLink for the next round.
func ExamplePages() {
	fg := fakegraph.New()
	defer fg.Close()
	fg.AddTenant(fakegraph.Tenant{ID: "t1", Domains: []string{"contoso.com"}})
	fg.AddUser("t1", fakegraph.User{ID: "u1", UPN: "alice@contoso.com", MailEnabled: true, AccountEnabled: true})
	for i := range 5 {
		fg.AddMessage("u1", "inbox", fakegraph.Message{
			Subject:          fmt.Sprintf("Quote %d", i+1),
			From:             fakegraph.Address{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
			ReceivedDateTime: time.Date(2026, 11, 20, 9, i, 0, 0, time.UTC),
		})
	}

	client, err := graph.New(graph.Config{BaseURL: fg.URL(), HTTPClient: fg.Client()})
	if err != nil {
		panic(err)
	}
	token := graph.TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "demo"}, nil
	})
	req := &graph.Request{
		Path:    graph.Path("users", "u1", "mailFolders", "inbox", "messages", "delta"),
		Query:   url.Values{"$select": {graph.MessageSelect}},
		Header:  http.Header{"Prefer": {"odata.maxpagesize=2"}},
		Mailbox: "u1",
		Token:   token,
	}
	var cursor string
	for page, err := range graph.Pages[graph.Message](context.Background(), client, req) {
		if err != nil {
			panic(err)
		}
		for _, m := range page.Value {
			fmt.Println(m.Subject, "from", m.From.Address)
		}
		cursor = page.DeltaLink
	}
	fmt.Println("next round starts from a deltaLink:", cursor != "")
	// Output:
	// Quote 1 from ann@acme.co.uk
	// Quote 2 from ann@acme.co.uk
	// Quote 3 from ann@acme.co.uk
	// Quote 4 from ann@acme.co.uk
	// Quote 5 from ann@acme.co.uk
	// next round starts from a deltaLink: true
}

// Errors from Graph are typed: classify them with errors.Is.
func ExampleCheckResponse() {
	fg := fakegraph.New()
	defer fg.Close()
	fg.AddTenant(fakegraph.Tenant{ID: "t1"})
	fg.AddUser("t1", fakegraph.User{ID: "u2", UPN: "dan@contoso.com", MailEnabled: false, AccountEnabled: true})

	client, _ := graph.New(graph.Config{BaseURL: fg.URL(), HTTPClient: fg.Client()})
	err := client.JSON(context.Background(), &graph.Request{
		Path:  graph.Path("users", "u2", "mailFolders", "inbox"),
		Token: graph.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "demo"})),
	}, nil)
	fmt.Println(errors.Is(err, m365link.ErrMailboxNotEnabled), errors.Is(err, m365link.ErrNotFound))
	// Output: true true
}
