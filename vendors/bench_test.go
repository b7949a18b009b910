package vendors_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/m365link/m365link/vendors"
)

// Synthetic returns n vendors with 3 domains and 5 contacts each, the
// shape PERFORMANCE.md measures (1,000,000 vendors): three of the contacts
// at the vendor's own domains, one at a domain it does not list, one on
// Gmail.
func Synthetic(n int) []vendors.Vendor {
	vs := make([]vendors.Vendor, n)
	for i := range vs {
		d := fmt.Sprintf("vendor%07d", i)
		vs[i] = vendors.Vendor{
			ID: fmt.Sprintf("v%07d", i), Name: fmt.Sprintf("Vendor %d Ltd", i), Tracked: i%10 != 0,
			Domains: []string{d + ".com", d + ".co.uk", "mail." + d + ".de"},
			Contacts: []string{"sales@" + d + ".com", "ann@" + d + ".com", "bob@" + d + ".co.uk",
				"accounts@" + d + ".de", d + ".owner@gmail.com"},
		}
	}
	return vs
}

// BenchmarkIndex1M builds an index of 1,000,000 vendors × 3 domains × 5
// contacts, reports its heap bytes per vendor, and looks up keys spread
// over all vendors (64Ki distinct keys: every lookup misses the CPU caches
// and the TLB): half contacts that exist, a quarter domains, a quarter
// contacts nobody has. "key" asks one key per Lookup; "batch8" eight, as
// the matcher does for a message, so their cache misses overlap. One
// goroutine: lookups/s are per core.
//
//	go test -run '^$' -bench Index1M -benchmem ./vendors/
func BenchmarkIndex1M(b *testing.B) {
	const n = 1_000_000
	vs := Synthetic(n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	x, err := vendors.NewIndex(vs)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(vs) // vs was counted in before: keep it in after
	perVendor := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	vs = nil
	keys := make([]vendors.Key, 1<<16)
	for i := range keys {
		v := (i * 7919) % n
		switch i % 4 {
		case 0, 1:
			keys[i] = vendors.Key{Kind: vendors.KeyContact, Value: fmt.Sprintf("ann@vendor%07d.com", v)}
		case 2:
			keys[i] = vendors.Key{Kind: vendors.KeyDomain, Value: fmt.Sprintf("vendor%07d.co.uk", v)}
		case 3:
			keys[i] = vendors.Key{Kind: vendors.KeyContact, Value: fmt.Sprintf("nobody@vendor%07d.com", v)}
		}
	}
	ctx := context.Background()
	for _, batch := range []int{1, 8} {
		name := "key"
		if batch > 1 {
			name = fmt.Sprintf("batch%d", batch)
		}
		b.Run(name, func(b *testing.B) {
			hits := make([]vendors.Hit, 0, 16)
			b.ReportAllocs()
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				k := keys[i : i+batch]
				hits, _ = x.Lookup(ctx, hits[:0], k)
				if want := batch - (i%4+batch)/4; len(hits) != want {
					b.Fatalf("%v: %v", k, hits)
				}
				if i += batch; i == len(keys) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "lookups/s")
			if cpu := cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(b.N*batch)/cpu.Seconds(), "lookups/cpu-s")
			}
			b.ReportMetric(perVendor, "bytes/vendor")
		})
	}
	runtime.KeepAlive(x)
}

// BenchmarkParseAddress normalises addresses: plain ones at 64 domains
// (their nodes of the public suffix list in the CPU's caches), plain ones
// at a new domain each, and ones with a display name, a tag and capitals.
//
//	go test -run '^$' -bench ParseAddress -benchmem ./vendors/
func BenchmarkParseAddress(b *testing.B) {
	for _, bb := range []struct {
		name string
		addr func(i int) string
	}{
		{"plain", func(i int) string { return fmt.Sprintf("ann%d@vendor%d.co.uk", i, i%64) }},
		{"plain-new-domain", func(i int) string { return fmt.Sprintf("ann@vendor%07d.co.uk", i) }},
		{"display-name", func(i int) string { return fmt.Sprintf("Ann Vendor <Ann+RFQ%d@Vendor%d.co.uk>", i, i%64) }},
	} {
		addrs := make([]string, 1<<16)
		for i := range addrs {
			addrs[i] = bb.addr(i)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := vendors.ParseAddress(addrs[i&(1<<16-1)]); !ok {
					b.Fatal(addrs[i&(1<<16-1)])
				}
				i++
			}
		})
	}
}
