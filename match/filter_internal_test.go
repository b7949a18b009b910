package match

import (
	"fmt"
	"strings"
	"testing"
)

// TestDomainFilter checks that one backward pass over a domain gives
// each of its label-starting suffixes the hash the suffix has alone, and
// that the filter never says an added domain is absent.
func TestDomainFilter(t *testing.T) {
	f := &domainFilter{seed: 42}
	for _, d := range []string{"com", "example.com", "a.b.example.co.uk", "x.y", "mail.vendor0001234.de"} {
		hs := f.suffixes(d, nil)
		labels := strings.Split(d, ".")
		if len(hs) != len(labels) {
			t.Fatalf("%s: %d hashes for %d labels", d, len(hs), len(labels))
		}
		for k := range labels {
			s := strings.Join(labels[len(labels)-1-k:], ".")
			if hs[k] != f.hash(s) {
				t.Errorf("%s: suffix %q: %x, alone %x", d, s, hs[k], f.hash(s))
			}
		}
	}
	absent := 0
	for i := range 20000 {
		f.add(fmt.Sprintf("listed%d.example", i))
	}
	for i := range 20000 {
		if !f.has(f.hash(fmt.Sprintf("listed%d.example", i))) {
			t.Fatalf("listed%d.example: added, said absent", i)
		}
		if !f.has(f.hash(fmt.Sprintf("other%d.example", i))) {
			absent++
		}
	}
	// Two bits a domain, 20,000 domains in 2^18 bits: (1-e^(-2·20000/2^18))^2
	// ≈ 2% pass. Far more would mean the bits are not independent.
	if absent < 19000 {
		t.Errorf("%d of 20,000 absent domains passed", 20000-absent)
	}
}
