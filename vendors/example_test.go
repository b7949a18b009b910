package vendors_test

import (
	"context"
	"fmt"

	"github.com/m365link/m365link/vendors"
)

func ExampleIndex() {
	x, err := vendors.NewIndex([]vendors.Vendor{
		{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.com", "acme.co.uk"},
			Contacts: []string{"Ann Vendor <Ann+quotes@ACME.com>", "acme.owner@gmail.com"}},
		{ID: "globex", Name: "Globex", Domains: []string{"globex.com"}},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	addr, _ := vendors.NormalizeAddress("ann@acme.com")
	hits, _ := x.Lookup(ctx, nil, []vendors.Key{
		{Kind: vendors.KeyContact, Value: addr},
		{Kind: vendors.KeyDomain, Value: "globex.com"},
		{Kind: vendors.KeyDomain, Value: "initech.com"},
	})
	fmt.Println(hits)

	// Vendors change while the index serves readers.
	_ = x.Put(vendors.Vendor{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com", "globex.de"}})
	hits, _ = x.Lookup(ctx, hits[:0], []vendors.Key{{Kind: vendors.KeyDomain, Value: "globex.de"}})
	fmt.Println(hits)
	v, _ := x.Vendor("acme")
	fmt.Printf("%+v\n", v)
	// Output:
	// [{0 acme Acme true} {1 globex Globex false}]
	// [{0 globex Globex true}]
	// {ID:acme Name:Acme Domains:[acme.com acme.co.uk] Contacts:[ann@acme.com acme.owner@gmail.com] Tracked:true}
}

func ExampleNormalizeAddress() {
	for _, s := range []string{"Ann Vendor <Ann.Vendor+RFQ@ACME.com>", "mailto:sales@Bücher.example", `"Smith, John" <"John Smith"@Acme.com>`,
		"not an address", "ann@192.0.2.7", "ann@co.uk"} {
		fmt.Println(vendors.NormalizeAddress(s))
	}
	// Output:
	// ann.vendor@acme.com true
	// sales@xn--bcher-kva.example true
	// "john smith"@acme.com true
	//  false
	//  false
	//  false
}

// claims is a host's own Directory: here maps, in a real host SQL queries
// that answer each kind of key in one round trip.
type claims struct {
	byContact, byDomain map[string][]string
	tracked             map[string]bool
	names               map[string]string
}

func (c *claims) Lookup(ctx context.Context, dst []vendors.Hit, keys []vendors.Key) ([]vendors.Hit, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	for i, k := range keys {
		var ids []string
		switch k.Kind {
		case vendors.KeyContact:
			ids = c.byContact[k.Value]
		case vendors.KeyDomain:
			ids = c.byDomain[k.Value]
		case vendors.KeyID:
			if _, ok := c.tracked[k.Value]; ok {
				ids = []string{k.Value}
			}
		}
		for _, id := range ids {
			dst = append(dst, vendors.Hit{Key: i, VendorID: id, Name: c.names[id], Tracked: c.tracked[id]})
		}
	}
	return dst, nil
}

func ExampleDirectory() {
	var dir vendors.Directory = &claims{
		byContact: map[string][]string{"acme.owner@gmail.com": {"acme"}},
		byDomain:  map[string][]string{"acme.com": {"acme"}},
		tracked:   map[string]bool{"acme": true},
		names:     map[string]string{"acme": "Acme Corporation"},
	}
	hits, _ := dir.Lookup(context.Background(), nil, []vendors.Key{
		{Kind: vendors.KeyContact, Value: "acme.owner@gmail.com"},
		{Kind: vendors.KeyDomain, Value: "acme.com"},
		{Kind: vendors.KeyDomain, Value: "gmail.com"},
	})
	fmt.Println(hits)
	// Output:
	// [{0 acme Acme Corporation true} {1 acme Acme Corporation true}]
}

func ExampleParseAddress() {
	a, ok := vendors.ParseAddress("Bob <Bob+RFQ@mail.eu.ACME.co.uk>")
	fmt.Println(a, ok)
	fmt.Println(a.Local(), a.Domain(), a.Registrable())
	// Output:
	// bob@mail.eu.acme.co.uk true
	// bob mail.eu.acme.co.uk acme.co.uk
}
