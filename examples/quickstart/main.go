// Command quickstart runs m365link offline: it starts an in-process fake of
// Microsoft Graph, seeds a tenant with mailboxes that trade mail with
// vendors, and syncs every Inbox with Graph delta queries through the
// library's HTTP layer — one round for everything, then a second round that
// picks up only what changed.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/graph"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	fg := fakegraph.New()
	defer fg.Close()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 3, NotMailEnabled: 1, MessagesPerMailbox: 400, Vendors: 6, Seed: 42})

	client, err := graph.New(graph.Config{BaseURL: fg.URL(), HTTPClient: fg.Client()})
	if err != nil {
		return err
	}
	// Against real Graph this would be a tokens.Source for the account.
	token := graph.TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "offline-demo"}, nil
	})

	t := seed.Tenants[0]
	fmt.Fprintf(out, "Fake tenant %s (%s), %s\n", t.Tenant.DisplayName, strings.Join(t.Tenant.Domains, ", "), t.Tenant.ID)
	fmt.Fprintf(out, "%d users, %d vendors:", len(t.Users), len(seed.Vendors))
	for _, v := range seed.Vendors {
		fmt.Fprintf(out, " %s (%s)", v.Name, strings.Join(v.Domains, ", "))
	}
	fmt.Fprint(out, "\n\n")

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "mailbox\tinbox\tpages\trequests\ttop sender domain")
	cursors := map[string]string{}
	for _, u := range t.Users {
		start := fg.Stats(u.ID).Requests
		req := &graph.Request{
			Path:    graph.Path("users", u.ID, "mailFolders", "inbox", "messages", "delta"),
			Query:   url.Values{"$select": {graph.MessageSelect}},
			Header:  http.Header{"Prefer": {"odata.maxpagesize=100"}},
			Mailbox: u.ID,
			Token:   token,
		}
		messages, pages := 0, 0
		domains := map[string]int{}
		var syncErr error
		for page, err := range graph.Pages[graph.Message](ctx, client, req) {
			if err != nil {
				syncErr = err
				break
			}
			pages++
			for _, m := range page.Value {
				messages++
				domains[m.From.Domain()]++
			}
			if page.DeltaLink != "" {
				cursors[u.ID] = page.DeltaLink
			}
		}
		switch {
		case syncErr == nil:
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\n", u.UPN, messages, pages, fg.Stats(u.ID).Requests-start, top(domains))
		case errors.Is(syncErr, m365link.ErrMailboxNotEnabled):
			fmt.Fprintf(w, "%s\t-\t-\t%d\tno Exchange Online mailbox: reported, not retried\n", u.UPN, fg.Stats(u.ID).Requests-start)
		default:
			return syncErr
		}
	}
	w.Flush()

	// Something happens in Alice's mailbox; the next round brings only that.
	alice := t.Users[0]
	fg.AddMessage(alice.ID, "inbox", fakegraph.Message{
		Subject: "Revised quotation", ReceivedDateTime: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC),
		From: fakegraph.Address{Name: seed.Vendors[0].Contacts[0].Name, Address: seed.Vendors[0].Contacts[0].Address},
		To:   []fakegraph.Address{{Name: alice.DisplayName, Address: alice.UPN}},
	})
	fg.DeleteMessage(alice.ID, seedInbox(seed, alice.ID)[0])
	fmt.Fprintf(out, "\nNext round for %s:\n", alice.UPN)
	for page, err := range graph.Pages[graph.Message](ctx, client, &graph.Request{URL: cursors[alice.ID], Mailbox: alice.ID, Token: token}) {
		if err != nil {
			return err
		}
		for _, m := range page.Value {
			if m.Removed != nil {
				fmt.Fprintf(out, "  removed  %s\n", short(m.ID))
				continue
			}
			fmt.Fprintf(out, "  upsert   %s  %q from %s\n", short(m.ID), m.Subject, m.From)
		}
	}
	return nil
}

func seedInbox(seed *fakegraph.SeedResult, userID string) []string {
	for _, mb := range seed.Mailboxes {
		if mb.User.ID == userID {
			return mb.Inbox
		}
	}
	return nil
}

func top(counts map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range counts {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	if len(all) == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", all[0].k, all[0].v)
}

func short(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:8] + "…" + id[len(id)-8:]
}
