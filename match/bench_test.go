package match_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

// BenchmarkMatchAddress1M matches single addresses against 1,000,000
// vendors × 3 domains × 5 contacts, one goroutine (so matches/s is per
// core), and reports the index's heap bytes per vendor. The addresses
// cycle through a known contact, a contact with a tag, an unknown person
// at a vendor's domain, at a subdomain of one (parent domain), on Gmail,
// at the tenant's domain, and at a domain nobody claims.
//
// The matcher caches outcomes per address and vendors per domain while the
// index does not change (vendors.Versioned), and most mail repeats a
// tenant's working set of addresses: "hot" cycles through 4,096 addresses,
// "spread" through 65,536 drawn from all 1M vendors (the cache's size).
// "uncached" cycles through 1,048,576 distinct addresses, so every match
// runs the rules and looks its keys up in the index, which misses the CPU
// caches and the TLB every time.
//
//	go test -run '^$' -bench MatchAddress1M -benchmem -count 5 ./match/
func BenchmarkMatchAddress1M(b *testing.B) {
	const n = 1_000_000
	vs := make([]vendors.Vendor, n)
	for i := range vs {
		d := fmt.Sprintf("vendor%07d", i)
		vs[i] = vendors.Vendor{ID: fmt.Sprintf("v%07d", i), Name: fmt.Sprintf("Vendor %d Ltd", i), Tracked: i%10 != 0,
			Domains: []string{d + ".com", d + ".co.uk", "mail." + d + ".de"},
			Contacts: []string{"sales@" + d + ".com", "ann@" + d + ".com", "bob@" + d + ".co.uk",
				"accounts@" + d + ".de", d + ".owner@gmail.com"}}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	x, err := vendors.NewIndex(vs)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(vs)
	perVendor := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	vs = nil
	m, err := match.New(match.Config{Directory: x, InternalDomains: []string{"contoso.com"}, TrackedOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	addrs := func(distinct int) []string {
		out := make([]string, distinct)
		for i := range out {
			v := (i * 7919) % n
			switch i % 7 {
			case 0:
				out[i] = fmt.Sprintf("ann@vendor%07d.com", v)
			case 1:
				out[i] = fmt.Sprintf("Bob+RFQ@Vendor%07d.co.uk", v)
			case 2:
				out[i] = fmt.Sprintf("someone@vendor%07d.co.uk", v)
			case 3:
				out[i] = fmt.Sprintf("ops@eu.vendor%07d.com", v)
			case 4:
				out[i] = fmt.Sprintf("person%d@gmail.com", v)
			case 5:
				out[i] = fmt.Sprintf("colleague%d@contoso.com", v%100)
			case 6:
				out[i] = fmt.Sprintf("x@unknown%07d.example", v)
			}
		}
		return out
	}
	ctx := context.Background()
	for _, bb := range []struct {
		name  string
		addrs []string
	}{{"hot", addrs(1 << 12)}, {"spread", addrs(1 << 16)}, {"uncached", addrs(1 << 20)}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				if _, err := m.MatchAddress(ctx, bb.addrs[i%len(bb.addrs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
			if cpu := cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "matches/cpu-s")
			}
			b.ReportMetric(perVendor, "bytes/vendor")
		})
	}
}
