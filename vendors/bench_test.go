package vendors_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/m365link/m365link/vendors"
)

// synthetic returns n vendors with 3 domains and 5 contacts each, the
// shape PERFORMANCE.md measures at (1,000,000 vendors).
func synthetic(n int) []vendors.Vendor {
	vs := make([]vendors.Vendor, n)
	for i := range vs {
		d := fmt.Sprintf("vendor%07d", i)
		vs[i] = vendors.Vendor{
			ID: fmt.Sprintf("v%07d", i), Name: fmt.Sprintf("Vendor %d Ltd", i), Tracked: i%10 != 0,
			Domains: []string{d + ".com", d + ".co.uk", "mail." + d + ".de"},
			Contacts: []string{"sales@" + d + ".com", "ann@" + d + ".com", "bob@" + d + ".co.uk",
				"accounts@" + d + ".de", fmt.Sprintf("%s.owner@gmail.com", d)},
		}
	}
	return vs
}

// BenchmarkIndex1M builds an index of 1,000,000 vendors × 3 domains × 5
// contacts and looks up contacts and domains: ns per lookup (one core,
// b.Loop serially) and bytes of index per vendor.
func BenchmarkIndex1M(b *testing.B) {
	const n = 1_000_000
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	vs := synthetic(n)
	x, err := vendors.NewIndex(vs)
	if err != nil {
		b.Fatal(err)
	}
	vs = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	perVendor := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	ctx := context.Background()
	keys := make([]string, 4096)
	for i := range keys {
		if i%2 == 0 {
			keys[i] = fmt.Sprintf("ann@vendor%07d.com", (i*7919)%n)
		} else {
			keys[i] = fmt.Sprintf("vendor%07d.co.uk", (i*104729)%n)
		}
	}
	dst := make([]string, 0, 4)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := keys[i&4095]
		if i&1 == 0 {
			dst, _ = x.AppendByContact(ctx, dst[:0], k)
		} else {
			dst, _ = x.AppendByDomain(ctx, dst[:0], k)
		}
		if len(dst) != 1 {
			b.Fatalf("%s: %v", k, dst)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(perVendor, "bytes/vendor")
	runtime.KeepAlive(x)
}
