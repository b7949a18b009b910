package match_test

import (
	"context"
	"fmt"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

func Example() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "acme", Name: "Acme Ltd", Tracked: true, Domains: []string{"acme.com", "acme.co.uk"}, Contacts: []string{"acme.owner@gmail.com"}},
		{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}},
	})
	m, _ := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}, TrackedOnly: true})
	msg := &m365link.Message{
		From: m365link.EmailAddress{Name: "Bob", Address: "Bob@mail.eu.ACME.co.uk"},
		To:   []m365link.EmailAddress{{Name: "Alice", Address: "alice@contoso.com"}},
		Cc:   []m365link.EmailAddress{{Address: "acme.owner+rfq@gmail.com"}, {Address: "friend@gmail.com"}},
	}
	r, _ := m.MatchMessage(context.Background(), msg)
	fmt.Println(r.Vendors())
	fmt.Print(r.Explain())
	// Output:
	// [acme]
	// from Bob <bob@mail.eu.acme.co.uk>: vendor Acme Ltd (acme), parent domain acme.co.uk (confidence 0.80)
	// to Alice <alice@contoso.com>: no vendor: internal domain contoso.com
	// cc acme.owner@gmail.com: vendor Acme Ltd (acme), known contact acme.owner@gmail.com (confidence 0.99)
	// cc friend@gmail.com: no vendor: gmail.com is on the free-mail list (category free-mail), and the address is not a known contact
}

func ExampleMatcher_MatchAddress() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "umbrella", Name: "Umbrella Group", Tracked: true, Domains: []string{"umbrella-group.com"}},
		{ID: "umbrella-uk", Name: "Umbrella UK", Tracked: true, Domains: []string{"umbrella-group.com"}, Contacts: []string{`"Jo Smith"@umbrella-group.com`}},
	})
	m, _ := match.New(match.Config{Directory: dir, TrackedOnly: true})
	for _, addr := range []string{`Jo <"JO SMITH+quotes"@umbrella-group.com>`, "pat@umbrella-group.com", "ann@192.0.2.7", ""} {
		r, _ := m.MatchAddress(context.Background(), addr)
		fmt.Print(r.Explain())
	}
	// Output:
	// address "jo smith"@umbrella-group.com: vendor Umbrella UK (umbrella-uk), known contact "jo smith"@umbrella-group.com (confidence 0.99)
	// address pat@umbrella-group.com: no vendor: domain umbrella-group.com is claimed by several vendors: Umbrella Group (umbrella), Umbrella UK (umbrella-uk)
	// address ann@192.0.2.7: no vendor: not an e-mail address
	// address (empty): no vendor: not an e-mail address
}

// A user settles an ambiguity in the UI: the host stores the pin, sets it,
// and re-matches what it affects.
func ExampleMatcher_SetOverrides() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "umbrella", Name: "Umbrella Group", Tracked: true, Domains: []string{"umbrella-group.com"}},
		{ID: "umbrella-uk", Name: "Umbrella UK", Tracked: true, Domains: []string{"umbrella-group.com"}},
	})
	m, _ := match.New(match.Config{Directory: dir, TrackedOnly: true})
	change, _ := m.SetOverrides(match.Overrides{Pins: []match.Pin{
		{Kind: match.PinAddress, Key: "Pat@Umbrella-Group.com", VendorID: "umbrella-uk"},
		{Kind: match.PinDomainAndSubdomains, Key: "uk.umbrella-group.com", VendorID: "umbrella-uk"},
	}})
	fmt.Printf("%+v\n", change)
	// The host would now call m.Rematch(ctx, store, change).
	for _, addr := range []string{"pat@umbrella-group.com", "sam@london.uk.umbrella-group.com"} {
		r, _ := m.MatchAddress(context.Background(), addr)
		fmt.Print(r.Explain())
	}
	// A domain on the free-mail list is refused unless the pin says so.
	_, err := m.SetOverrides(match.Overrides{Pins: []match.Pin{{Kind: match.PinDomain, Key: "gmail.com", VendorID: "umbrella"}}})
	fmt.Println(err)
	// Output:
	// {Domains:[uk.umbrella-group.com] Addresses:[pat@umbrella-group.com] Vendors:[] LocalParts:[]}
	// address pat@umbrella-group.com: vendor Umbrella UK (umbrella-uk), pinned address pat@umbrella-group.com (confidence 1.00)
	// address sam@london.uk.umbrella-group.com: vendor Umbrella UK (umbrella-uk), pinned domain uk.umbrella-group.com and its subdomains (confidence 1.00)
	// match: pin of gmail.com to "umbrella": gmail.com is on the free-mail list (category free-mail); pin an address instead, or set AllowFreemail
}

// A host whose supplier is a telecom takes its domain off the ISP
// category, adds a domain of its own, and names its own role mailboxes.
func ExampleListChanges() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{{ID: "sky", Name: "Sky UK", Tracked: true, Domains: []string{"sky.com"}}})
	m, _ := match.New(match.Config{Directory: dir, DropRoleAddresses: true})
	for _, addr := range []string{"accounts@sky.com", "x@mailinator.com", "alerts-eu@sky.com"} {
		r, _ := m.MatchAddress(context.Background(), addr)
		fmt.Print(r.Explain())
	}
	_, _ = m.SetOverrides(match.Overrides{
		FreemailList: match.ListChanges{Remove: []string{"sky.com"}, Add: map[string][]string{"partner-webmail": {"webmail.example"}}},
		RoleList:     match.ListChanges{Add: map[string][]string{"alerts": {"alerts"}}},
	})
	for _, addr := range []string{"accounts@sky.com", "x@webmail.example", "alerts-eu@sky.com"} {
		r, _ := m.MatchAddress(context.Background(), addr)
		fmt.Print(r.Explain())
	}
	// Output:
	// address accounts@sky.com: no vendor: sky.com is on the free-mail list (category isp), and the address is not a known contact
	// address x@mailinator.com: no vendor: mailinator.com is on the free-mail list (category disposable), and the address is not a known contact
	// address alerts-eu@sky.com: no vendor: sky.com is on the free-mail list (category isp), and the address is not a known contact
	// address accounts@sky.com: vendor Sky UK (sky), domain sky.com (confidence 0.90)
	// address x@webmail.example: no vendor: webmail.example is on the free-mail list (category partner-webmail), and the address is not a known contact
	// address alerts-eu@sky.com: no vendor: a role address (category alerts), domain sky.com of Sky UK (sky)
}

func ExampleResult_Explain() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{{ID: "acme", Name: "Acme Ltd", Tracked: true, Domains: []string{"acme.com"}}})
	m, _ := match.New(match.Config{Directory: dir})
	r, _ := m.MatchAddress(context.Background(), "Ann <ann@eu.acme.com>")
	for _, l := range r.Explain().Lines {
		fmt.Printf("%s | %s | %s | %s | %q | %.2f\n", l.Participant.Role, l.VendorID, l.VendorName, l.Rule, l.Key, l.Confidence)
		fmt.Println(l)
	}
	// Output:
	// address | acme | Acme Ltd | parent domain | "acme.com" | 0.80
	// address ann@eu.acme.com: vendor Acme Ltd (acme), parent domain acme.com (confidence 0.80)
}

func ExampleVendorChange() {
	before := vendors.Vendor{ID: "globex", Tracked: true, Domains: []string{"globex.com"}}
	after := vendors.Vendor{ID: "globex", Tracked: true, Domains: []string{"globex.com", "globex-logistics.com"}}
	fmt.Printf("%+v\n", match.VendorChange(&before, &after))
	// Output:
	// {Domains:[globex-logistics.com] Addresses:[] Vendors:[] LocalParts:[]}
}

// A page of synced mail is matched at once: one directory lookup for all
// its messages.
func ExampleMatcher_MatchMessages() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "acme", Name: "Acme Ltd", Tracked: true, Domains: []string{"acme.com"}},
		{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}},
	})
	m, _ := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}})
	page := []m365link.Message{
		{Subject: "Quote", From: m365link.EmailAddress{Address: "ann@acme.com"}, To: []m365link.EmailAddress{{Address: "bob@contoso.com"}}},
		{Subject: "Invoice", From: m365link.EmailAddress{Address: "billing@eu.globex.com"}},
		{Subject: "Lunch", From: m365link.EmailAddress{Address: "carol@contoso.com"}},
	}
	results, _ := m.MatchMessages(context.Background(), page)
	for i, r := range results {
		fmt.Println(page[i].Subject, r.Vendors())
	}
	// Output:
	// Quote [acme]
	// Invoice [globex]
	// Lunch []
}
