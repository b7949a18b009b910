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
		From: m365link.EmailAddress{Address: "Bob@mail.eu.ACME.co.uk"},
		To:   []m365link.EmailAddress{{Address: "alice@contoso.com"}},
		Cc:   []m365link.EmailAddress{{Address: "acme.owner+rfq@gmail.com"}, {Address: "friend@gmail.com"}},
	}
	r, _ := m.MatchMessage(context.Background(), msg)
	fmt.Println(r.Vendors())
	fmt.Print(r.Explain())
	// Output:
	// [acme]
	// bob@mail.eu.acme.co.uk (from): vendor acme by parent domain "acme.co.uk", confidence 0.80
	// acme.owner@gmail.com (cc): vendor acme by contact "acme.owner@gmail.com", confidence 0.99
	// alice@contoso.com (to): no vendor: internal domain
	// friend@gmail.com (cc): no vendor: free-mail domain, not a known contact
}
