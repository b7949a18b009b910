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

// FuzzPublicSuffix checks that the public suffix of every valid domain,
// and so its registrable domain, is the one x/net/publicsuffix gives. The
// domain is the fuzzed string, then the label of the list's node of the
// first fuzzed number, then the node of the second (its label and its
// parents'), each when its number is not 0: random bytes seldom spell the
// list's deeper nodes, its wildcards and exceptions among them, or put a
// label that is a node under one parent under another.
func FuzzPublicSuffix(f *testing.F) {
	rules, _ := vendors.PSLRules()
	for _, s := range []string{"someone.vendor0001234.co.uk", "eu.vendor0001234.com", "x.unknown1234567.example", "mail.vendor0001234.de",
		"gmail.com", "a.b.ck", "www.ck", "x.www.ck", "a.b.kawasaki.jp", "city.kawasaki.jp", "x.city.kawasaki.jp",
		"ip-10-0-0-1.eu-west-1.compute.amazonaws.com", "a.b.c.nom.br", "co.uk.com", "a.b", "0.a", "a-b_c.0"} {
		f.Add(s, uint16(0), uint16(0))
	}
	for i, r := range rules {
		switch r {
		case "ck", "www.ck", "kawasaki.jp", "city.kawasaki.jp", "compute.amazonaws.com", "co.uk", "com", "nom.br":
			f.Add("x", uint16(0), uint16(i+1))
			f.Add("a.b", uint16(i+1), uint16(i+1))
		}
	}
	f.Fuzz(func(t *testing.T, s string, label, rule uint16) {
		d := s
		if label != 0 {
			l, _, _ := strings.Cut(rules[int(label-1)%len(rules)], ".")
			d += "." + l
		}
		if rule != 0 {
			d += "." + rules[int(rule-1)%len(rules)]
		}
		d = strings.TrimPrefix(d, ".")
		if !vendors.IsValidDomain(d) {
			return
		}
		want, _ := publicsuffix.PublicSuffix(d)
		if got := vendors.PublicSuffix(d); d[got:] != want {
			t.Fatalf("publicSuffix(%q) = %q, x/net/publicsuffix says %q", d, d[got:], want)
		}
		wantReg := -1
		if len(want) < len(d) {
			wantReg = strings.LastIndexByte(d[:len(d)-len(want)-1], '.') + 1
		}
		if got := vendors.Registrable(d); got != wantReg {
			t.Fatalf("registrable(%q) = %d, x/net/publicsuffix says %d", d, got, wantReg)
		}
	})
}
