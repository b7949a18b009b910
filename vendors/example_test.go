package vendors_test

import (
	"context"
	"fmt"

	"github.com/m365link/m365link/vendors"
)

func ExampleIndex() {
	x, _ := vendors.NewIndex([]vendors.Vendor{
		{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.com"}, Contacts: []string{"Ann <Ann+quotes@ACME.com>"}},
	})
	ctx := context.Background()
	addr, _ := vendors.NormalizeAddress("ann@acme.com")
	ids, _ := x.AppendByContact(ctx, nil, addr)
	fmt.Println(ids)

	// Vendors change while the index serves readers.
	_ = x.Put(vendors.Vendor{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.com", "acme.de"}})
	ids, _ = x.AppendByDomain(ctx, nil, "acme.de")
	fmt.Println(ids)
	// Output:
	// [acme]
	// [acme]
}
