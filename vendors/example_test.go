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
	// [{0 acme true} {1 globex false}]
	// [{0 globex true}]
	// {ID:acme Name:Acme Domains:[acme.com acme.co.uk] Contacts:[ann@acme.com acme.owner@gmail.com] Tracked:true}
}

func ExampleNormalizeAddress() {
	for _, s := range []string{"Ann Vendor <Ann.Vendor+RFQ@ACME.com>", "mailto:sales@Bücher.example", "not an address"} {
		fmt.Println(vendors.NormalizeAddress(s))
	}
	// Output:
	// ann.vendor@acme.com true
	// sales@xn--bcher-kva.example true
	//  false
}

// claims is a host's own Directory: here maps, in a real host SQL queries
// that answer each kind of key in one round trip.
type claims struct {
	byContact, byDomain map[string][]string
	tracked             map[string]bool
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
			dst = append(dst, vendors.Hit{Key: i, VendorID: id, Tracked: c.tracked[id]})
		}
	}
	return dst, nil
}

func ExampleDirectory() {
	var dir vendors.Directory = &claims{
		byContact: map[string][]string{"acme.owner@gmail.com": {"acme"}},
		byDomain:  map[string][]string{"acme.com": {"acme"}},
		tracked:   map[string]bool{"acme": true},
	}
	hits, _ := dir.Lookup(context.Background(), nil, []vendors.Key{
		{Kind: vendors.KeyContact, Value: "acme.owner@gmail.com"},
		{Kind: vendors.KeyDomain, Value: "acme.com"},
		{Kind: vendors.KeyDomain, Value: "gmail.com"},
	})
	fmt.Println(hits)
	// Output:
	// [{0 acme true} {1 acme true}]
}
