package vendors_test

import (
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"

	"github.com/m365link/m365link/vendors"
)

// FuzzNormalizeAddress checks that normalising never panics, is
// idempotent, never returns an address it would reject, agrees on the
// parts ParseAddress gives (the registrable domain x/net/publicsuffix's),
// that its allocation-free path agrees with the general one, and that
// what it accepts the index accepts and finds.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"ann@acme.com", "Ann <ANN+x@acme.co.uk>", "a@b", "a@b.c", "x@bücher.example", "mailto:a@b.com",
		"a.b-c_d@e-f.g_h.com", "@", "a@.com", "a@b..com", "a@b.com.", "\"q\"@x.com", "a@" + string(make([]byte, 70)) + ".com", "mAilto:mAilto:@0.0",
		"mailto:mailto:ann@acme.com", `"john smith"@acme.com`, `"a@b"@acme.com`, `"x,y"@acme.com`, `"a\"b"@acme.com`, `"Vendor, Ann" (Sales) <ann@acme.com>`,
		"ann@acme.com (Ann)", "<@relay.example:ann@acme.com>", "ann@192.0.2.7", "ann@[192.0.2.7]", "ann@co.uk", "mailto:%22j%20s%22@acme.com?subject=x",
		`"+x y"@acme.com`, ".ann..b.@acme.com", "JOSE\u0301@acme.com", `"Ann <x@evil.example>" <ann@acme.com>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := vendors.NormalizeAddress(s)
		if !ok {
			if n != "" {
				t.Fatalf("NormalizeAddress(%q) = %q, false", s, n)
			}
			return
		}
		if n2, ok2 := vendors.NormalizeAddress(n); !ok2 || n2 != n {
			t.Fatalf("NormalizeAddress(%q) = %q, then %q, %v", s, n, n2, ok2)
		}
		a, ok := vendors.ParseAddress(s)
		if !ok || a.String() != n || a.Local()+"@"+a.Domain() != n || !strings.HasSuffix(a.Domain(), a.Registrable()) {
			t.Fatalf("ParseAddress(%q) = %q %q %q %q, %v", s, a, a.Local(), a.Domain(), a.Registrable(), ok)
		}
		if d, ok := vendors.NormalizeDomain(a.Domain()); !ok || d != a.Domain() {
			t.Fatalf("NormalizeDomain(%q) = %q, %v", a.Domain(), d, ok)
		}
		if want, _ := publicsuffix.EffectiveTLDPlusOne(a.Domain()); a.Registrable() != want {
			t.Fatalf("ParseAddress(%q).Registrable() = %q, x/net/publicsuffix says %q", s, a.Registrable(), want)
		}
		if vendors.PlainAddress(s) {
			if slow, ok := vendors.SlowNormalizeAddress(s); !ok || slow != s {
				t.Fatalf("plain %q: the general path says %q, %v", s, slow, ok)
			}
		}
		x, err := vendors.NewIndex([]vendors.Vendor{{ID: "v", Domains: []string{a.Registrable()}, Contacts: []string{s}}})
		if err != nil {
			t.Fatalf("NewIndex with contact %q (normalised %q): %v", s, n, err)
		}
		if v, _ := x.Vendor("v"); len(v.Contacts) != 1 || v.Contacts[0] != n {
			t.Fatalf("contact %q stored as %q", s, v.Contacts)
		}
	})
}
