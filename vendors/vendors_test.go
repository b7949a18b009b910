package vendors_test

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/vendors"
)

var acme = vendors.Vendor{ID: "acme", Name: "Acme Corporation", Tracked: true,
	Domains:  []string{"acme.com", "ACME.co.uk", "bücher-acme.example"},
	Contacts: []string{"Ann Vendor <Ann.Vendor@acme.com>", "sales@acme.co.uk", "acme.owner+quotes@gmail.com", "ops@acme-logistics.net"}}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Ann@ACME.com":                "ann@acme.com",
		" Ann Vendor <ann@acme.com> ": "ann@acme.com",
		"ann+quotes@acme.com":         "ann@acme.com",
		"mailto:Sales@Acme.co.uk":     "sales@acme.co.uk",
		"info@bücher.example":         "info@xn--bcher-kva.example",
		"x@Example.COM.":              "x@example.com",
	} {
		got, ok := vendors.NormalizeAddress(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "no-at-sign", "@acme.com", "ann@", "a b@c.d", "ann@exa mple.com"} {
		_, ok := vendors.NormalizeAddress(bad)
		assert.False(t, ok, bad)
	}
	d, ok := vendors.NormalizeDomain("Bücher.Example")
	assert.True(t, ok)
	assert.Equal(t, "xn--bcher-kva.example", d)
}

func TestIndexLookupsAndUpdates(t *testing.T) {
	ctx := context.Background()
	globex := vendors.Vendor{ID: "globex", Name: "Globex", Domains: []string{"globex.com", "acme.com"}, Contacts: []string{"hank@globex.com"}}
	x, err := vendors.NewIndex([]vendors.Vendor{acme, globex})
	require.NoError(t, err)
	by := func(kind, key string) []string {
		var got []string
		if kind == "contact" {
			got, _ = x.AppendByContact(ctx, nil, key)
		} else {
			got, _ = x.AppendByDomain(ctx, nil, key)
		}
		return got
	}
	assert.Equal(t, []string{"acme"}, by("contact", "ann.vendor@acme.com"))
	assert.Equal(t, []string{"acme"}, by("contact", "acme.owner@gmail.com"), "plus-addressing normalised away")
	assert.Equal(t, []string{"acme"}, by("contact", "ops@acme-logistics.net"), "a contact off the vendor's domains")
	assert.Equal(t, []string{"acme"}, by("domain", "acme.co.uk"))
	assert.Equal(t, []string{"acme"}, by("domain", "xn--bcher-acme-9db.example"))
	assert.ElementsMatch(t, []string{"acme", "globex"}, by("domain", "acme.com"), "a shared domain names both")
	assert.Empty(t, by("contact", "nobody@acme.com"))
	assert.Equal(t, 2, x.Len())

	v, ok, err := x.Vendor(ctx, "acme")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, vendors.Vendor{ID: "acme", Name: "Acme Corporation", Tracked: true,
		Domains:  []string{"acme.com", "acme.co.uk", "xn--bcher-acme-9db.example"},
		Contacts: []string{"ann.vendor@acme.com", "sales@acme.co.uk", "acme.owner@gmail.com", "ops@acme-logistics.net"}}, v)

	// Update: Acme drops acme.co.uk and gains a contact; nothing is rebuilt.
	acme2 := acme
	acme2.Domains = []string{"acme.com"}
	acme2.Contacts = []string{"new@acme.com"}
	require.NoError(t, x.Put(acme2))
	assert.Empty(t, by("domain", "acme.co.uk"))
	assert.Empty(t, by("contact", "sales@acme.co.uk"))
	assert.Equal(t, []string{"acme"}, by("contact", "new@acme.com"))
	x.Remove("globex")
	assert.Equal(t, []string{"acme"}, by("domain", "acme.com"))
	assert.Equal(t, 1, x.Len())
	_, ok, _ = x.Vendor(ctx, "globex")
	assert.False(t, ok)

	require.NoError(t, x.Compact())
	assert.Equal(t, []string{"acme"}, by("contact", "new@acme.com"))
	assert.Equal(t, 1, x.Len())

	_, err = vendors.NewIndex([]vendors.Vendor{{ID: "bad", Domains: []string{"not a domain"}}})
	assert.ErrorIs(t, err, vendors.ErrInvalid)
}

func TestIndexGrowsAndServesReadersWhileUpdated(t *testing.T) {
	ctx := context.Background()
	x, err := vendors.NewIndex(nil)
	require.NoError(t, err)
	var wg gosync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			dst := make([]string, 0, 2)
			for {
				select {
				case <-stop:
					return
				default:
				}
				dst, _ = x.AppendByDomain(ctx, dst[:0], "vendor0000007.com")
				if len(dst) > 1 {
					t.Error("a domain claimed once returned twice")
					return
				}
			}
		})
	}
	for i := range 5000 {
		d := fmt.Sprintf("vendor%07d", i)
		require.NoError(t, x.Put(vendors.Vendor{ID: fmt.Sprint(i), Domains: []string{d + ".com"}, Contacts: []string{"a@" + d + ".com"}}))
		if i%3 == 0 {
			x.Remove(fmt.Sprint(i - 1))
		}
	}
	close(stop)
	wg.Wait()
	got, _ := x.AppendByDomain(ctx, nil, "vendor0000007.com")
	assert.Equal(t, []string{"7"}, got)
	got, _ = x.AppendByContact(ctx, nil, "a@vendor0004998.com")
	assert.Equal(t, []string{"4998"}, got)
	got, _ = x.AppendByContact(ctx, nil, "a@vendor0000008.com")
	assert.Empty(t, got, "removed")
}
