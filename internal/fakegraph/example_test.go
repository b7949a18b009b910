package fakegraph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/m365link/m365link/internal/fakegraph"
)

// fetch GETs a Graph URL from the fake with a bearer token and decodes the
// JSON answer into out; it returns the response for its status and headers.
func fetch(s *fakegraph.Server, url, prefer string, out any) *http.Response {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer any-token")
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			panic(err)
		}
	}
	return resp
}

// A delta round over a folder: pages linked by @odata.nextLink, ended by an
// @odata.deltaLink that the next round starts from.
func Example() {
	s := fakegraph.New()
	defer s.Close()
	alice := s.AddUser("", fakegraph.User{UPN: "alice@contoso.com", DisplayName: "Alice Smith", MailEnabled: true})
	received := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, subject := range []string{"Quote request", "PO 4500123 confirmation", "Invoice INV-20931"} {
		s.AddMessage(alice.ID, "inbox", fakegraph.Message{
			Subject:          subject,
			From:             fakegraph.Address{Name: "Bob", Address: "bob@acme.com"},
			ReceivedDateTime: received,
		})
	}

	type page struct {
		Value []struct {
			Subject string `json:"subject"`
			Removed any    `json:"@removed"`
		} `json:"value"`
		NextLink  string `json:"@odata.nextLink"`
		DeltaLink string `json:"@odata.deltaLink"`
	}
	walk := func(link string) string {
		for n := 1; ; n++ {
			var p page
			fetch(s, link, "odata.maxpagesize=2", &p)
			var subjects []string
			for _, m := range p.Value {
				if m.Removed != nil {
					subjects = append(subjects, "(removed)")
				} else {
					subjects = append(subjects, m.Subject)
				}
			}
			fmt.Printf("page %d: %s\n", n, strings.Join(subjects, ", "))
			if p.DeltaLink != "" {
				return p.DeltaLink
			}
			link = p.NextLink
		}
	}

	delta := walk(s.URL() + "/users/alice@contoso.com/mailFolders/inbox/messages/delta?$select=subject")
	first := s.AddMessage(alice.ID, "inbox", fakegraph.Message{Subject: "RE: Quote request", ReceivedDateTime: received.Add(time.Hour)})
	s.MoveMessage(alice.ID, first.ID, "archive")
	s.AddMessage(alice.ID, "inbox", fakegraph.Message{Subject: "Delivery schedule", ReceivedDateTime: received.Add(2 * time.Hour)})
	fmt.Println("next round:")
	walk(delta)
	// Output:
	// page 1: Quote request, PO 4500123 confirmation
	// page 2: Invoice INV-20931
	// next round:
	// page 1: (removed), Delivery schedule
}

// Injected faults let a test watch a client retry.
func ExampleServer_Inject() {
	s := fakegraph.New()
	defer s.Close()
	s.AddUser("", fakegraph.User{UPN: "alice@contoso.com", MailEnabled: true})
	s.Inject(fakegraph.Fault{Route: "/mailFolders", Kind: fakegraph.Throttle429, RetryAfter: "2", Times: 1})

	url := s.URL() + "/users/alice@contoso.com/mailFolders"
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	resp := fetch(s, url, "", &body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), body.Error.Code)
	resp = fetch(s, url, "", nil)
	fmt.Println(resp.StatusCode)
	st := s.Stats("alice@contoso.com")
	fmt.Println("requests:", st.Requests, "throttled:", st.Throttled)
	// Output:
	// 429 2 ApplicationThrottled
	// 200
	// requests: 2 throttled: 1
}

// Seed builds a deterministic tenant with vendors and mail.
func ExampleSeed() {
	s := fakegraph.New()
	defer s.Close()
	r := fakegraph.Seed(s, fakegraph.SeedSpec{Mailboxes: 2, MessagesPerMailbox: 100, Vendors: 3, Seed: 1})
	fmt.Println(r.Tenants[0].Tenant.Domains, r.Mailboxes[0].User.UPN, r.Mailboxes[1].User.UPN)
	fmt.Println(r.Vendors[0].Name, r.Vendors[0].Domains)
	mb := r.Mailboxes[0]
	fmt.Println(len(mb.Inbox)+len(mb.SentItems), "messages")
	// Output:
	// [contoso.com] alice@contoso.com bob@contoso.com
	// Acme Corporation [acme.com acme.co.uk mail.eu.acme.co.uk]
	// 100 messages
}
