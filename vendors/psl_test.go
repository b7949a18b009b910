package vendors

import (
	"fmt"
	"testing"
)

// TestPSLIndexFind: pslIndex holds every node's label and children word
// as the tables do; and for every parent in the list (the root and every
// node with children) and every label of the list, it finds the node
// x/net's binary search of the parent's children finds, or none when it
// finds none. A label that is no node's label it cannot find (it compares
// the label with the node's), so it finds what x/net finds for every
// label. A few hundred of these pairs meet a node with their label under
// another parent before their probe ends: the check of the parent's
// range is what turns them away.
func TestPSLIndexFind(t *testing.T) {
	x := pslIndexOnce()
	labels := map[string]bool{}
	parents := [][2]uint32{{0, pslNumTLD}}
	for i := range uint32(pslNodesCount) {
		if x.label(i) != pslLabel(i) || x.children(i) != pslChildren(i) {
			t.Fatalf("node %d: label %q, children %#x; the tables say %q, %#x", i, x.label(i), x.children(i), pslLabel(i), pslChildren(i))
		}
		labels[pslLabel(i)] = true
		c := pslChildren(i)
		if lo, hi := c&(1<<pslChildrenBitsLo-1), c>>pslChildrenBitsLo&(1<<pslChildrenBitsHi-1); lo < hi {
			parents = append(parents, [2]uint32{lo, hi})
		}
	}
	for _, p := range parents {
		for l := range labels {
			want, wantOK := uint32(0), false
			for lo, hi := p[0], p[1]; lo < hi; { // x/net's find
				mid := lo + (hi-lo)/2
				if s := pslLabel(mid); s < l {
					lo = mid + 1
				} else if s == l {
					want, wantOK = mid, true
					break
				} else {
					hi = mid
				}
			}
			if got, ok := x.find(p[0], p[1], l); got != want || ok != wantOK {
				t.Fatalf("find([%d, %d), %q) = %d, %v; x/net finds %d, %v", p[0], p[1], l, got, ok, want, wantOK)
			}
		}
	}
	t.Logf("%d parents × %d labels", len(parents), len(labels))
}

// pslBenchDomains returns 1,024 domains of the shapes addresses have, in
// turn: a subdomain under co.uk, one under com, an unknown top-level label
// (the prevailing rule "*"), one under de, and gmail.com; each with its
// own number, so that the walk sees many labels, not one.
func pslBenchDomains() []string {
	ds := make([]string, 1024)
	for i := range ds {
		n := i * 7919 // spread the numbers, as vendors' are
		switch i % 5 {
		case 0:
			ds[i] = fmt.Sprintf("someone.vendor%07d.co.uk", n)
		case 1:
			ds[i] = fmt.Sprintf("eu.vendor%07d.com", n)
		case 2:
			ds[i] = fmt.Sprintf("x.unknown%07d.example", n)
		case 3:
			ds[i] = fmt.Sprintf("mail.vendor%07d.de", n)
		default:
			ds[i] = "gmail.com"
		}
	}
	return ds
}

// BenchmarkPublicSuffix finds the public suffix of the domains
// pslBenchDomains gives, one a call (the list's tables warm in the CPU's
// caches: the walk's own cost).
//
//	go test -run '^$' -bench PublicSuffix -benchmem ./vendors/
func BenchmarkPublicSuffix(b *testing.B) {
	ds := pslBenchDomains()
	publicSuffix(ds[0]) // build what the walk builds on first use
	b.ReportAllocs()
	sum, i := 0, 0
	for b.Loop() {
		sum += publicSuffix(ds[i&(len(ds)-1)])
		i++
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}
