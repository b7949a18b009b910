package vendors_test

import (
	"testing"

	"github.com/m365link/m365link/vendors"
)

// FuzzNormalizeAddress checks that normalising never panics, is
// idempotent, that its allocation-free path agrees with the general one,
// and that what it accepts the index accepts.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"ann@acme.com", "Ann <ANN+x@acme.co.uk>", "a@b", "a@b.c", "x@bücher.example", "mailto:a@b.com",
		"a.b-c_d@e-f.g_h.com", "@", "a@.com", "a@b..com", "a@b.com.", "\"q\"@x.com", "a@" + string(make([]byte, 70)) + ".com", "mAilto:mAilto:@0.0", "mailto:mailto:ann@acme.com"} {
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
		if vendors.PlainAddress(s) {
			if slow, ok := vendors.SlowNormalizeAddress(s); !ok || slow != s {
				t.Fatalf("plain %q: the general path says %q, %v", s, slow, ok)
			}
		}
		if _, err := vendors.NewIndex([]vendors.Vendor{{ID: "v", Contacts: []string{s}}}); err != nil {
			t.Fatalf("NewIndex with contact %q (normalised %q): %v", s, n, err)
		}
	})
}
