package match_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

// BenchmarkMatchAddress1M matches single addresses against 1,000,000
// vendors × 3 domains × 5 contacts: contacts, domains, parent domains,
// free-mail and internal addresses in turn (one core: b.Loop is serial).
func BenchmarkMatchAddress1M(b *testing.B) {
	const n = 1_000_000
	vs := make([]vendors.Vendor, n)
	for i := range vs {
		d := fmt.Sprintf("vendor%07d", i)
		vs[i] = vendors.Vendor{ID: fmt.Sprintf("v%07d", i), Name: "Vendor", Tracked: true,
			Domains: []string{d + ".com", d + ".co.uk", "mail." + d + ".de"},
			Contacts: []string{"sales@" + d + ".com", "ann@" + d + ".com", "bob@" + d + ".co.uk",
				"accounts@" + d + ".de", d + ".owner@gmail.com"}}
	}
	x, err := vendors.NewIndex(vs)
	if err != nil {
		b.Fatal(err)
	}
	vs = nil
	m, _ := match.New(match.Config{Directory: x, InternalDomains: []string{"contoso.com"}})
	addrs := make([]string, 4096)
	for i := range addrs {
		v := (i * 7919) % n
		switch i % 5 {
		case 0:
			addrs[i] = fmt.Sprintf("ann@vendor%07d.com", v)
		case 1:
			addrs[i] = fmt.Sprintf("someone@vendor%07d.co.uk", v)
		case 2:
			addrs[i] = fmt.Sprintf("ops@eu.vendor%07d.co.uk", v)
		case 3:
			addrs[i] = fmt.Sprintf("person%d@gmail.com", v)
		case 4:
			addrs[i] = "colleague@contoso.com"
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.MatchAddress(ctx, addrs[i&4095]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
}
