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
		{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.com", "acme.co.uk"}, Contacts: []string{"acme.owner@gmail.com"}},
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
	// from Bob <bob@mail.eu.acme.co.uk>: vendor acme, parent domain acme.co.uk (confidence 0.80)
	// to Alice <alice@contoso.com>: no vendor: internal domain contoso.com
	// cc acme.owner@gmail.com: vendor acme, known contact acme.owner@gmail.com (confidence 0.99)
	// cc friend@gmail.com: no vendor: free-mail domain gmail.com, not a known contact
}

func ExampleMatcher_MatchAddress() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "umbrella", Tracked: true, Domains: []string{"umbrella-group.com"}},
		{ID: "umbrella-uk", Tracked: true, Domains: []string{"umbrella-group.com"}, Contacts: []string{"jo@umbrella-group.com"}},
	})
	m, _ := match.New(match.Config{Directory: dir, TrackedOnly: true})
	for _, addr := range []string{"Jo <JO+quotes@umbrella-group.com>", "pat@umbrella-group.com"} {
		r, _ := m.MatchAddress(context.Background(), addr)
		fmt.Print(r.Explain())
	}
	// Output:
	// address jo@umbrella-group.com: vendor umbrella-uk, known contact jo@umbrella-group.com (confidence 0.99)
	// address pat@umbrella-group.com: no vendor: domain umbrella-group.com claimed by several vendors (umbrella, umbrella-uk)
}

// A user settles an ambiguity in the UI: the host stores the override, sets
// it, and re-matches what it affects.
func ExampleMatcher_SetOverrides() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "umbrella", Tracked: true, Domains: []string{"umbrella-group.com"}},
		{ID: "umbrella-uk", Tracked: true, Domains: []string{"umbrella-group.com"}},
	})
	m, _ := match.New(match.Config{Directory: dir, TrackedOnly: true})
	change, _ := m.SetOverrides(match.Overrides{Pin: map[string]string{"Pat@Umbrella-Group.com": "umbrella-uk"}})
	fmt.Printf("%+v\n", change)
	// The host would now call m.Rematch(ctx, store, change).
	r, _ := m.MatchAddress(context.Background(), "pat@umbrella-group.com")
	fmt.Print(r.Explain())
	// Output:
	// {Domains:[] Addresses:[pat@umbrella-group.com] Vendors:[]}
	// address pat@umbrella-group.com: vendor umbrella-uk, override of pat@umbrella-group.com (confidence 1.00)
}

func ExampleVendorChange() {
	before := vendors.Vendor{ID: "globex", Tracked: true, Domains: []string{"globex.com"}}
	after := vendors.Vendor{ID: "globex", Tracked: true, Domains: []string{"globex.com", "globex-logistics.com"}}
	fmt.Printf("%+v\n", match.VendorChange(&before, &after))
	// Output:
	// {Domains:[globex-logistics.com] Addresses:[] Vendors:[]}
}
