// Command quickstart runs m365link offline: it starts an in-process fake of
// Microsoft Graph, seeds a tenant whose users trade mail with vendors, and
// syncs every mailbox with the sync engine, matching each message to its
// vendor on the way into a (here in-memory) host store. A second pass picks
// up only what changed.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// store is the host's side: messages per mailbox and the vendor each is filed under.
type store struct {
	messages map[string]int            // mailbox -> messages
	byVendor map[string]map[string]int // mailbox -> vendor -> messages
	last     []string                  // what the last page did, for the demo
}

func (s *store) ApplyMatched(_ context.Context, p *m365sync.Page, results []match.Result) error {
	k := p.Mailbox.UPN
	for i, m := range p.Upserts {
		s.messages[k]++
		vs := results[i].Vendors()
		if s.byVendor[k] == nil {
			s.byVendor[k] = map[string]int{}
		}
		for _, v := range vs {
			s.byVendor[k][v]++
		}
		line := fmt.Sprintf("  upsert  %q from %s", m.Subject, m.From.Address)
		if len(results[i].Matches) > 0 {
			mm := results[i].Matches[0]
			line += fmt.Sprintf(" -> %s (%s, %s)", mm.VendorID, mm.Rule, mm.Key)
		}
		s.last = append(s.last, line)
	}
	for _, r := range p.Removals {
		s.last = append(s.last, "  remove  "+short(r.ID))
	}
	return nil
}

func (s *store) Reset(context.Context, m365sync.Reset) error            { return nil }
func (s *store) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }

type offlineToken struct{}

// Token stands in for a tokens.Source (see the tokens package).
func (offlineToken) Token(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "offline-demo"}, nil
}

func run(ctx context.Context, out io.Writer) error {
	fg := fakegraph.New()
	defer fg.Close()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 3, NotMailEnabled: 1, MessagesPerMailbox: 400, Vendors: 6, Seed: 42})
	tenant := seed.Tenants[0]
	fmt.Fprintf(out, "Fake tenant %s (%s), %d users, %d vendors\n\n", tenant.Tenant.DisplayName, strings.Join(tenant.Tenant.Domains, ", "), len(tenant.Users), len(seed.Vendors))

	// The host's vendors, as the matcher sees them.
	var vs []vendors.Vendor
	for i, v := range seed.Vendors {
		vv := vendors.Vendor{ID: v.Name, Name: v.Name, Domains: v.Domains, Tracked: i != len(seed.Vendors)-1}
		for _, c := range v.Contacts {
			vv.Contacts = append(vv.Contacts, c.Address)
		}
		vs = append(vs, vv)
	}
	index, err := vendors.NewIndex(vs)
	if err != nil {
		return err
	}
	matcher, err := match.New(match.Config{Directory: index, InternalDomains: tenant.Tenant.Domains, TrackedOnly: true})
	if err != nil {
		return err
	}
	host := &store{messages: map[string]int{}, byVendor: map[string]map[string]int{}}
	var users []string
	for _, u := range tenant.Users {
		users = append(users, u.UPN)
	}
	// One Graph client for the process, here pointed at the fake tenant.
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "fake", GraphBase: fg.URL()}, HTTPClient: fg.Client()})
	if err != nil {
		return err
	}
	engine, err := m365sync.New(m365sync.Config{
		Client:   gc,
		TenantID: tenant.Tenant.ID,
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return offlineToken{} },
		Policy:   m365sync.Policy{Users: users},
		Sink:     matchsync.Sink(matcher, host),
		State:    &m365sync.MemoryState{},
	})
	if err != nil {
		return err
	}
	mailboxes, err := engine.Mailboxes(ctx)
	if err != nil {
		return err
	}
	sort.Slice(mailboxes, func(i, j int) bool { return mailboxes[i].UPN < mailboxes[j].UPN })
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "mailbox\tstate\tmessages\tfrom or to vendors\ttop vendor")
	for _, mb := range mailboxes {
		_ = engine.SyncOnce(ctx, mb) // the status says what went wrong, if anything
		st, _ := engine.Status(mb.Key())
		vendorMail := 0
		for _, n := range host.byVendor[mb.UPN] {
			vendorMail += n
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\n", mb.UPN, st.State, host.messages[mb.UPN], vendorMail, top(host.byVendor[mb.UPN]))
	}
	w.Flush()

	// Something happens in Alice's mailbox; the next pass brings only that.
	var alice m365link.Mailbox
	for _, mb := range mailboxes {
		if mb.UserID == seed.Mailboxes[0].User.ID {
			alice = mb
		}
	}
	contact := seed.Vendors[1].Contacts[0]
	fg.AddMessage(alice.UserID, "inbox", fakegraph.Message{
		Subject: "Revised quotation", ReceivedDateTime: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC),
		From: fakegraph.Address{Name: contact.Name, Address: contact.Address},
		To:   []fakegraph.Address{{Address: alice.UPN}},
	})
	fg.DeleteMessage(alice.UserID, seed.Mailboxes[0].Inbox[0])
	host.last = nil
	if err := engine.SyncOnce(ctx, alice); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nNext pass for %s:\n%s\n", alice.UPN, strings.Join(host.last, "\n"))
	c := engine.Counters()
	fmt.Fprintf(out, "\nIn all: %d messages in %d pages, %d requests to Graph.\n", c.Items, c.Pages, c.Requests)
	return nil
}

func top(counts map[string]int) string {
	best, n := "-", 0
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if counts[k] > n {
			best, n = k, counts[k]
		}
	}
	if n == 0 {
		return best
	}
	return fmt.Sprintf("%s (%d)", best, n)
}

func short(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:8] + "…" + id[len(id)-8:]
}
