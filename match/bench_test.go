package match_test

import (
	"context"
	"fmt"
	"runtime"
	gosync "sync"
	"testing"

	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

const benchVendors = 1_000_000

// benchIndex is 1,000,000 vendors × 3 domains × 5 contacts (the shape
// PERFORMANCE.md measures), built once for every benchmark, with its heap
// bytes per vendor.
var benchIndex = gosync.OnceValues(func() (*vendors.Index, float64) {
	vs := make([]vendors.Vendor, benchVendors)
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
		panic(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(vs)
	return x, (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / benchVendors
})

// mixed returns n distinct addresses in the mix of the package's workload:
// a known contact, a contact with a tag and capitals, an unknown person at
// a vendor's domain, at a subdomain of one (parent domain), on Gmail, at
// the tenant's domain, and at a domain nobody claims.
func mixed(n int) []string {
	return addresses(n, func(b []byte, i int) []byte {
		v := (i * 7919) % benchVendors
		switch i % 7 {
		case 0:
			return fmt.Appendf(b, "ann@vendor%07d.com", v)
		case 1:
			return fmt.Appendf(b, "Bob+RFQ@Vendor%07d.co.uk", v)
		case 2:
			return fmt.Appendf(b, "someone%d@vendor%07d.co.uk", i/7, v)
		case 3:
			return fmt.Appendf(b, "ops%d@eu.vendor%07d.com", i/7, v)
		case 4:
			return fmt.Appendf(b, "person%d@gmail.com", i)
		case 5:
			return fmt.Appendf(b, "colleague%d@contoso.com", i)
		default:
			return fmt.Appendf(b, "x%d@unknown%07d.example", i/7, v)
		}
	})
}

// addresses returns n addresses that add appends, as substrings of one
// string: millions of separate strings would make each garbage collection
// mark millions of objects of the benchmark's own, a cost a host's heap
// need not have and the matcher does not cause.
func addresses(n int, add func(b []byte, i int) []byte) []string {
	var b []byte
	ends := make([]int, n)
	for i := range n {
		b = add(b, i)
		ends[i] = len(b)
	}
	all := string(b)
	out := make([]string, n)
	for i, start := 0, 0; i < n; i++ {
		out[i], start = all[start:ends[i]], ends[i]
	}
	return out
}

// newDomains returns n addresses at domains no address before them had:
// new subdomains of vendors' domains (so the parent-domain rule runs),
// unknown domains, and known contacts, in turn.
func newDomains(n int) []string {
	return addresses(n, func(b []byte, i int) []byte {
		v := (i * 7919) % benchVendors
		switch i % 3 {
		case 0:
			return fmt.Appendf(b, "ops@site%d.vendor%07d.com", i, v)
		case 1:
			return fmt.Appendf(b, "info@shop%08d.example", i)
		default:
			return fmt.Appendf(b, "sales@team%d.vendor%07d.co.uk", i, v)
		}
	})
}

func benchMatcher(b *testing.B) (*match.Matcher, float64) {
	x, perVendor := benchIndex()
	m, err := match.New(match.Config{Directory: x, InternalDomains: []string{"contoso.com"}, TrackedOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	return m, perVendor
}

func runMatches(b *testing.B, m *match.Matcher, addrs []string, perVendor float64) {
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime()
	i := 0
	for b.Loop() {
		if _, err := m.MatchAddress(ctx, addrs[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(addrs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
	if cpu := cpuTime() - cpu; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "matches/cpu-s")
	}
	b.ReportMetric(perVendor, "bytes/vendor")
}

// BenchmarkMatchAddress1M matches single addresses against 1,000,000
// vendors, one goroutine (so matches/s is per core), and reports the
// index's heap bytes per vendor.
//
// The matcher caches outcomes per address while the index does not change
// (vendors.Versioned), and most mail repeats a tenant's working set of
// addresses: "hot" cycles through 4,096 addresses of the mixed workload.
// "uncached" cycles through 2,097,152 distinct ones, 32 times the cache,
// so that nearly every match runs the rules and looks its keys up in the
// index, which misses the CPU caches and the TLB every time. "new-domains"
// is a stream in which every address is at a domain never seen before
// (a new subdomain of a vendor's, or an unknown one), so nothing about the
// domain is remembered either.
//
//	go test -run '^$' -bench MatchAddress1M -benchmem -count 5 ./match/
func BenchmarkMatchAddress1M(b *testing.B) {
	m, perVendor := benchMatcher(b)
	// Each workload is made when its turn comes, so that only one is
	// live (the garbage collector scans its string headers).
	workloads := []struct {
		name  string
		addrs func() []string
	}{{"hot", func() []string { return mixed(1 << 12) }},
		{"uncached", func() []string { return mixed(1 << 21) }},
		{"new-domains", func() []string { return newDomains(1 << 21) }}}
	for _, w := range workloads {
		addrs := w.addrs()
		b.Run(w.name, func(b *testing.B) { runMatches(b, m, addrs, perVendor) })
	}
	// The same, 64 addresses a call (MatchAddresses): their lookups
	// overlap, as MatchMessages' do for a page of synced mail.
	for _, w := range workloads {
		addrs := w.addrs()
		b.Run(w.name+"/batch64", func(b *testing.B) {
			ctx := context.Background()
			const batch = 64
			b.ReportAllocs()
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				if _, err := m.MatchAddresses(ctx, addrs[i:i+batch]); err != nil {
					b.Fatal(err)
				}
				if i += batch; i == len(addrs) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "matches/s")
			if cpu := cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(b.N*batch)/cpu.Seconds(), "matches/cpu-s")
			}
		})
	}
}

// BenchmarkCacheWorkingSet cycles through working sets of the mixed
// workload from half the matcher's cache to four times it: the share of
// answers the cache keeps falls gradually, with no cliff at the cache's
// size (a cache reset when full answers none of a cycle one larger than
// itself).
//
//	go test -run '^$' -bench CacheWorkingSet -benchmem -count 5 ./match/
func BenchmarkCacheWorkingSet(b *testing.B) {
	all := mixed(4 * match.CacheSize)
	for _, f := range []struct {
		name string
		n    int
	}{{"0.5x", match.CacheSize / 2}, {"1x", match.CacheSize}, {"2x", 2 * match.CacheSize}, {"4x", 4 * match.CacheSize}} {
		b.Run(f.name, func(b *testing.B) {
			m, perVendor := benchMatcher(b)
			// Fill the cache before timing.
			for _, a := range all[:f.n] {
				_, _ = m.MatchAddress(context.Background(), a)
			}
			runMatches(b, m, all[:f.n], perVendor)
		})
	}
}
