package vendors_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/publicsuffix"

	"github.com/m365link/m365link/vendors"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ann@acme.com", "ann@acme.com"},
		{"Ann@ACME.com", "ann@acme.com"},
		{" Ann Vendor <Ann.Vendor@Acme.COM> ", "ann.vendor@acme.com"},
		{`"Vendor, Ann" <ann@acme.com>`, "ann@acme.com"},
		{"<ann@acme.com>", "ann@acme.com"},
		{"ann+quotes@acme.com", "ann@acme.com"},
		{"Ann+Quotes+2024@Acme.com", "ann@acme.com"},
		{"mailto:Sales@Acme.co.uk", "sales@acme.co.uk"},
		{"MAILTO:sales@acme.co.uk", "sales@acme.co.uk"},
		{"info@bücher.example", "info@xn--bcher-kva.example"},
		{"info@BÜCHER.example", "info@xn--bcher-kva.example"},
		{"info@XN--BCHER-KVA.example", "info@xn--bcher-kva.example"},
		{"x@Example.COM.", "x@example.com"},
		{"ops_team@eu.acme-logistics.net", "ops_team@eu.acme-logistics.net"},
		{"JOSE\u0301@acme.com", "jos\u00e9@acme.com"}, // decomposed é → NFC
		{"jos\u00e9@acme.com", "jos\u00e9@acme.com"},
		{"+tag@acme.com", "+tag@acme.com"}, // nothing before the plus: not a tag

		// Quoted local parts (RFC 5322 §3.4.1): the content is the local
		// part; it is written bare when it can be.
		{`"john smith"@acme.com`, `"john smith"@acme.com`},
		{`"John Smith"@ACME.com`, `"john smith"@acme.com`},
		{`"John Smith" <"John Smith"@acme.com>`, `"john smith"@acme.com`},
		{`"a@b"@acme.com`, `"a@b"@acme.com`},
		{`"x,y"@acme.com`, `"x,y"@acme.com`},
		{`"x;y<z>"@acme.com`, `"x;y<z>"@acme.com`},
		{`"a\"b"@acme.com`, `"a\"b"@acme.com`},
		{`"a\\b"@acme.com`, `"a\\b"@acme.com`},
		{`"\a\n\n"@acme.com`, "ann@acme.com"}, // escapes of plain characters
		{`"ann"@acme.com`, "ann@acme.com"},
		{`"Ann.Vendor"@acme.com`, "ann.vendor@acme.com"},
		{`"ann"."vendor"@acme.com`, "ann.vendor@acme.com"}, // obsolete local part: words and dots
		{`"ann+rfq"@acme.com`, "ann@acme.com"},
		{`"john smith+rfq"@acme.com`, `"john smith"@acme.com`},
		{`"+x y"@acme.com`, `"+x y"@acme.com`},
		{`Sales <"sales team"@acme.com>`, `"sales team"@acme.com`},
		{`"Ann <ann@evil.example>" <ann@acme.com>`, "ann@acme.com"}, // brackets in a quoted name
		{".ann..vendor.@acme.com", ".ann..vendor.@acme.com"},        // old systems' dots: kept, bare
		{`".ann"@acme.com`, ".ann@acme.com"},

		// Comments and display names.
		{"Ann (Sales) <ann@acme.com>", "ann@acme.com"},
		{"(Ann) ann@acme.com", "ann@acme.com"},
		{"ann@acme.com (Ann Vendor)", "ann@acme.com"},
		{"ann@acme.com (Ann (nested) Vendor)", "ann@acme.com"},
		{"Ann <ann@acme.com> (Sales)", "ann@acme.com"},
		{"ann@acme.com <ann@acme.com>", "ann@acme.com"}, // Outlook's shape
		{"'ann@acme.com' <Ann@Acme.com>", "ann@acme.com"},
		{"'Ann@Acme.com'", "ann@acme.com"}, // a bare address in single quotes
		{"'ann'@acme.com", "'ann'@acme.com"},
		{"Vendor, Ann <ann@acme.com>", "ann@acme.com"},
		{"<@relay.example,@mx.example:ann@acme.com>", "ann@acme.com"}, // obsolete route
		{"Ann < ann@acme.com >", "ann@acme.com"},

		// mailto: every prefix, and the URI's query and escapes.
		{"mailto:mailto:ann@acme.com", "ann@acme.com"},
		{"mAilto: MAILTO:Ann@acme.com", "ann@acme.com"},
		{"mailto:ann@acme.com?subject=RFQ%2042", "ann@acme.com"},
		{"mailto:%22john%20smith%22@acme.com", `"john smith"@acme.com`},
		{"mailto:ann%2Brfq@acme.com", "ann@acme.com"},
		{"Ann <mailto:ann@acme.com>", "ann@acme.com"},
	}
	for _, tt := range tests {
		got, ok := vendors.NormalizeAddress(tt.in)
		assert.True(t, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		again, ok := vendors.NormalizeAddress(got)
		assert.True(t, ok, got)
		assert.Equal(t, got, again, "normalising %q again", got)
	}
	for _, bad := range []string{"", " ", "no-at-sign", "@acme.com", "ann@", "a b@c.d", "ann@exa mple.com",
		"ann@localhost", "ann@acme..com", "ann@.acme.com", "ann@acme.com..", "ann@-\u00ff\u0301.com",
		"/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=ALICE", "ann@" + strings.Repeat("a", 64) + ".com",
		strings.Repeat("a", 250) + "@acme.com",
		// Double mailto with nothing behind it (FuzzNormalizeAddress found it).
		"mAilto:mAilto:@0.0", "mailto:", "mailto:mailto:",
		// Bare IP addresses and public suffixes are no mailbox's domain.
		"ann@192.0.2.7", "ann@[192.0.2.7]", "ann@[IPv6:2001:db8::7]", "ann@0.0", "ann@10.1", "ann@co.uk", "ann@com.au",
		"ann@CO.UK", "Ann <ann@co.uk>", "ann@github.io", "ann@uk", "ann@com",
		// Quoting gone wrong, and what RFC 5322 does not allow.
		`"john smith@acme.com`, `john smith"@acme.com`, `""@acme.com`, `"a\`, `"a"b"@acme.com`, "john smith@acme.com",
		"a,b@acme.com", "a@b@acme.com", "<>", "Ann <>", "Ann <ann@acme.com", "Ann ann@acme.com>", "<ann@acme.com> junk",
		"ann@acme.com, bob@acme.com", "Team: ann@acme.com;", "(unclosed ann@acme.com", "\"tab\x01\"@acme.com",
		"mailto:ann%2@acme.com", "mailto:ann%zz@acme.com", "ann@acme.com?x", "ann@ac!me.com", "\xff@acme.com",
	} {
		got, ok := vendors.NormalizeAddress(bad)
		assert.False(t, ok, bad)
		assert.Empty(t, got, bad)
	}
}

func TestParseAddress(t *testing.T) {
	for _, tt := range []struct{ in, local, domain, registrable string }{
		{"Bob <bob@mail.eu.ACME.co.uk>", "bob", "mail.eu.acme.co.uk", "acme.co.uk"},
		{`"a@b"@acme.com`, `"a@b"`, "acme.com", "acme.com"},
		{"ann@eu.acme.github.io", "ann", "eu.acme.github.io", "acme.github.io"},
		{"x@sydney.acme.com.au", "x", "sydney.acme.com.au", "acme.com.au"},
	} {
		a, ok := vendors.ParseAddress(tt.in)
		require.True(t, ok, tt.in)
		assert.Equal(t, []string{tt.local + "@" + tt.domain, tt.local, tt.domain, tt.registrable}, []string{a.String(), a.Local(), a.Domain(), a.Registrable()}, tt.in)
	}
	a, ok := vendors.ParseAddress("ann@co.uk")
	assert.False(t, ok)
	assert.Equal(t, vendors.Address{}, a)
	assert.Equal(t, "", a.Domain())
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"acme.com":              "acme.com",
		" ACME.co.uk. ":         "acme.co.uk",
		"Bücher.Example":        "xn--bcher-kva.example",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
		"bücher。example":        "xn--bcher-kva.example", // ideographic full stop
		"münchen-ag.de":         "xn--mnchen-ag-q9a.de",
	} {
		got, ok := vendors.NormalizeDomain(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "com", "acme", "acme .com", "ann@acme.com", "acme..com", "a/b.com",
		"192.0.2.7", "[192.0.2.7]", "1.2.3.4.5", "co.uk", "CO.UK.", "com.au", "github.io", "acme.123"} {
		_, ok := vendors.NormalizeDomain(bad)
		assert.False(t, ok, bad)
	}
}

// lookup asks x one key and returns the vendor IDs, sorted, with their tracked flags.
func lookup(t *testing.T, x *vendors.Index, kind vendors.KeyKind, value string) []string {
	t.Helper()
	hits, err := x.Lookup(context.Background(), nil, []vendors.Key{{Kind: kind, Value: value}})
	require.NoError(t, err)
	var out []string
	for _, h := range hits {
		require.Equal(t, 0, h.Key)
		s := h.VendorID
		if h.Tracked {
			s += "(tracked)"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

var acme = vendors.Vendor{ID: "acme", Name: "Acme Corporation", Tracked: true,
	Domains: []string{"acme.com", "ACME.co.uk", "bücher-acme.example", "acme.com"},
	Contacts: []string{"Ann Vendor <Ann.Vendor@acme.com>", "sales@acme.co.uk", "acme.owner+quotes@gmail.com",
		"ops@acme-logistics.net", "ann.vendor@ACME.com"}}

// TestPublicSuffixList: the copy of x/net/publicsuffix's tables is the
// list of the x/net version go.mod names, and gives its answers: for every
// rule of the list and the labels between them, the domain itself, with
// labels before it, and under com and an unknown top-level label (a
// label that is a node under one parent is none under another).
//
// The index finds every node by its parent and label, and cannot find a
// wrong one (it checks a candidate's label and parent), so it finds a
// node exactly when x/net's search does (TestPSLIndexFind tries every
// parent with every label); these domains take the walk through every
// node, wildcard and exception.
func TestPublicSuffixList(t *testing.T) {
	require.Equal(t, publicsuffix.List.String(), vendors.PSLVersion, "copy golang.org/x/net/publicsuffix/data into vendors/psldata and update pslVersion")
	rules, found := vendors.PSLRules()
	require.Greater(t, len(rules), 9000)
	require.Equal(t, len(rules), found, "the index finds every node")
	checked := 0
	for _, r := range append(rules, "example", "acme.example", "com", "acme.com", "ck", "www.ck", "x.y.ck", "a.b.kawasaki.jp", "city.kawasaki.jp",
		"x.city.kawasaki.jp", "kawasaki.jp", "x.city.kobe.jp", "www.city.kawasaki.jp.com", "ip-10-0-0-1.eu-west-1.compute.amazonaws.com",
		"eu-west-1.compute.amazonaws.com", "compute.amazonaws.com", "a.b.compute.amazonaws.com.cn", "x.y.nom.br", "www.ck.uk", "co.uk.de") {
		for _, d := range []string{r, "a." + r, "b-2.a." + r, "www." + r, "x.www." + r, r + ".com", "a." + r + ".example"} {
			if !vendors.IsValidDomain(d) {
				continue
			}
			want := -1
			if suffix, _ := publicsuffix.PublicSuffix(d); len(suffix) < len(d) {
				want = strings.LastIndexByte(d[:len(d)-len(suffix)-1], '.') + 1
			}
			if got := vendors.Registrable(d); got != want {
				t.Errorf("registrable(%q) = %d, x/net/publicsuffix says %d", d, got, want)
			}
			checked++
		}
	}
	t.Logf("%d rules, %d domains checked", len(rules), checked)
}

func TestIndexLookups(t *testing.T) {
	globex := vendors.Vendor{ID: "globex", Name: "Globex", Domains: []string{"globex.com", "acme.com"}, Contacts: []string{"hank@globex.com"}}
	x, err := vendors.NewIndex([]vendors.Vendor{acme, globex})
	require.NoError(t, err)
	assert.Equal(t, 2, x.Len())

	for _, tt := range []struct {
		kind  vendors.KeyKind
		value string
		want  []string
	}{
		{vendors.KeyContact, "ann.vendor@acme.com", []string{"acme(tracked)"}},
		{vendors.KeyContact, "sales@acme.co.uk", []string{"acme(tracked)"}},
		{vendors.KeyContact, "acme.owner@gmail.com", []string{"acme(tracked)"}},
		{vendors.KeyContact, "ops@acme-logistics.net", []string{"acme(tracked)"}},
		{vendors.KeyContact, "hank@globex.com", []string{"globex"}},
		{vendors.KeyContact, "nobody@acme.com", nil},
		{vendors.KeyContact, "ann.vendor@acme.co.uk", nil},
		{vendors.KeyContact, "sales@acme.com", nil},
		{vendors.KeyDomain, "acme.co.uk", []string{"acme(tracked)"}},
		{vendors.KeyDomain, "xn--bcher-acme-9db.example", []string{"acme(tracked)"}},
		{vendors.KeyDomain, "acme.com", []string{"acme(tracked)", "globex"}},
		{vendors.KeyDomain, "gmail.com", nil},
		{vendors.KeyDomain, "acme", nil},
		{vendors.KeyID, "acme", []string{"acme(tracked)"}},
		{vendors.KeyID, "globex", []string{"globex"}},
		{vendors.KeyID, "acme.com", nil},
		{vendors.KeyDomain, "globex", nil}, // an ID is not a domain
	} {
		assert.Equal(t, tt.want, lookup(t, x, tt.kind, tt.value), "%s %s", tt.kind, tt.value)
	}

	// One batch answers every key, with the key's index.
	hits, err := x.Lookup(context.Background(), make([]vendors.Hit, 0, 8), []vendors.Key{
		{Kind: vendors.KeyContact, Value: "hank@globex.com"},
		{Kind: vendors.KeyDomain, Value: "unknown.example"},
		{Kind: vendors.KeyDomain, Value: "acme.co.uk"},
	})
	require.NoError(t, err)
	assert.Equal(t, []vendors.Hit{{Key: 0, VendorID: "globex", Name: "Globex"}, {Key: 2, VendorID: "acme", Name: "Acme Corporation", Tracked: true}}, hits)

	v, ok := x.Vendor("acme")
	require.True(t, ok)
	assert.Equal(t, vendors.Vendor{ID: "acme", Name: "Acme Corporation", Tracked: true,
		Domains:  []string{"acme.com", "acme.co.uk", "xn--bcher-acme-9db.example"},
		Contacts: []string{"ann.vendor@acme.com", "sales@acme.co.uk", "acme.owner@gmail.com", "ops@acme-logistics.net"}}, v)
	_, ok = x.Vendor("nobody")
	assert.False(t, ok)
}

func TestIndexUpdates(t *testing.T) {
	x, err := vendors.NewIndex([]vendors.Vendor{acme})
	require.NoError(t, err)

	// Acme drops acme.co.uk and a contact, gains a domain and a contact,
	// stops being tracked; nothing is rebuilt.
	require.NoError(t, x.Put(vendors.Vendor{ID: "acme", Name: "Acme Corp", Domains: []string{"acme.com", "acme.de"},
		Contacts: []string{"ann.vendor@acme.com", "new@acme.de"}}))
	assert.Nil(t, lookup(t, x, vendors.KeyDomain, "acme.co.uk"))
	assert.Nil(t, lookup(t, x, vendors.KeyContact, "sales@acme.co.uk"))
	assert.Equal(t, []string{"acme"}, lookup(t, x, vendors.KeyDomain, "acme.de"))
	assert.Equal(t, []string{"acme"}, lookup(t, x, vendors.KeyDomain, "acme.com"))
	assert.Equal(t, []string{"acme"}, lookup(t, x, vendors.KeyContact, "new@acme.de"))
	assert.Equal(t, []string{"acme"}, lookup(t, x, vendors.KeyContact, "ann.vendor@acme.com"))
	v, _ := x.Vendor("acme")
	assert.Equal(t, vendors.Vendor{ID: "acme", Name: "Acme Corp", Domains: []string{"acme.com", "acme.de"},
		Contacts: []string{"ann.vendor@acme.com", "new@acme.de"}}, v)

	require.NoError(t, x.Put(vendors.Vendor{ID: "initech", Name: "Initech", Domains: []string{"initech.com"}}))
	assert.Equal(t, 2, x.Len())
	assert.True(t, x.Remove("acme"))
	assert.False(t, x.Remove("acme"))
	assert.Equal(t, 1, x.Len())
	assert.Nil(t, lookup(t, x, vendors.KeyDomain, "acme.com"))
	assert.Nil(t, lookup(t, x, vendors.KeyID, "acme"))
	assert.Equal(t, []string{"initech"}, lookup(t, x, vendors.KeyDomain, "initech.com"))
}

func TestInvalidVendors(t *testing.T) {
	for _, tt := range []struct {
		v    vendors.Vendor
		want string
	}{
		{vendors.Vendor{Name: "no ID"}, `vendors: invalid vendor: ID "" must be 1 to 255 bytes`},
		{vendors.Vendor{ID: strings.Repeat("x", 256)}, `vendors: invalid vendor: ID "` + strings.Repeat("x", 256) + `" must be 1 to 255 bytes`},
		{vendors.Vendor{ID: "bad", Domains: []string{"not a domain"}}, `vendors: invalid vendor: vendor "bad": "not a domain" is not a domain`},
		{vendors.Vendor{ID: "bad", Contacts: []string{"ann at acme.com"}}, `vendors: invalid vendor: vendor "bad": "ann at acme.com" is not an e-mail address`},
	} {
		_, err := vendors.NewIndex([]vendors.Vendor{tt.v})
		require.ErrorIs(t, err, vendors.ErrInvalid)
		assert.EqualError(t, err, tt.want)
		x, _ := vendors.NewIndex(nil)
		assert.EqualError(t, x.Put(tt.v), tt.want)
		assert.Equal(t, 0, x.Len())
	}
	_, err := vendors.NewIndex([]vendors.Vendor{{ID: "a"}, {ID: "b"}, {ID: "a"}})
	assert.EqualError(t, err, `vendors: invalid vendor: duplicate vendor ID "a"`)

	// A vendor bigger than MaxVendorBytes is refused; a big one is fine.
	big := vendors.Vendor{ID: "big", Domains: []string{"big.example"}}
	for i := range 40000 {
		big.Contacts = append(big.Contacts, fmt.Sprintf("person%05d@big.example", i))
	}
	x, err := vendors.NewIndex([]vendors.Vendor{big})
	require.NoError(t, err)
	assert.Equal(t, []string{"big"}, lookup(t, x, vendors.KeyContact, "person29999@big.example"))
	for i := range 40000 {
		big.Contacts[i] = fmt.Sprintf("person%05d@elsewhere.example", i)
	}
	err = x.Put(big)
	assert.EqualError(t, err, `vendors: invalid vendor: vendor "big" has over 1048576 bytes of domains and contacts`)
	assert.Equal(t, []string{"big"}, lookup(t, x, vendors.KeyContact, "person29999@big.example"), "a refused update leaves the vendor as it was")
}

// TestIndexAgainstModel applies random puts and removes, enough to grow
// the table and compact the arena several times, and checks every key
// against a plain map after each round.
func TestIndexAgainstModel(t *testing.T) {
	defer vendors.SetCompactMin(4 << 10)()
	rng := rand.New(rand.NewPCG(1, 2))
	x, err := vendors.NewIndex(nil)
	require.NoError(t, err)
	model := map[string]vendors.Vendor{}
	domain := func() string { return fmt.Sprintf("d%d.example", rng.IntN(300)) }
	compactions, lastGarbage := 0, 0
	for round := range 40 {
		for range 100 {
			id := fmt.Sprintf("v%d", rng.IntN(200))
			if rng.IntN(4) == 0 {
				_, had := model[id]
				assert.Equal(t, had, x.Remove(id))
				delete(model, id)
				continue
			}
			v := vendors.Vendor{ID: id, Name: "Vendor " + id, Tracked: rng.IntN(2) == 0}
			for range rng.IntN(4) {
				v.Domains = append(v.Domains, domain())
			}
			for range rng.IntN(6) {
				d := domain()
				if len(v.Domains) > 0 && rng.IntN(2) == 0 {
					d = v.Domains[rng.IntN(len(v.Domains))]
				}
				v.Contacts = append(v.Contacts, fmt.Sprintf("p%d@%s", rng.IntN(5), d))
			}
			require.NoError(t, x.Put(v))
			v.Domains, v.Contacts = uniq(v.Domains), uniq(v.Contacts)
			model[id] = v
		}
		_, _, _, _, garbage := x.Stats()
		if garbage < lastGarbage {
			compactions++
		}
		lastGarbage = garbage
		_, err := x.CheckEntries()
		require.NoError(t, err)
		require.Equal(t, len(model), x.Len(), "round %d", round)
		for i := range 200 {
			id := fmt.Sprintf("v%d", i)
			got, ok := x.Vendor(id)
			want, had := model[id]
			require.Equal(t, had, ok, id)
			if had {
				require.Equal(t, want, got, id)
			}
		}
		byDomain, byContact := map[string][]string{}, map[string][]string{}
		for _, v := range model {
			for _, d := range v.Domains {
				byDomain[d] = append(byDomain[d], v.ID)
			}
			for _, c := range v.Contacts {
				byContact[c] = append(byContact[c], v.ID)
			}
		}
		for i := range 300 {
			d := fmt.Sprintf("d%d.example", i)
			want := byDomain[d]
			slices.Sort(want)
			require.Equal(t, want, ids(lookup(t, x, vendors.KeyDomain, d)), d)
			for p := range 5 {
				c := fmt.Sprintf("p%d@%s", p, d)
				want := byContact[c]
				slices.Sort(want)
				require.Equal(t, want, ids(lookup(t, x, vendors.KeyContact, c)), c)
			}
		}
	}
	assert.Greater(t, compactions, 2, "the arena compacted itself")
}

func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func ids(s []string) []string {
	var out []string
	for _, v := range s {
		out = append(out, strings.TrimSuffix(v, "(tracked)"))
	}
	return out
}

// TestReadersDuringUpdates reads a vendor's keys while writers change the
// vendor (its name, tracked flag and other keys) and churn enough other
// vendors to grow the table and compact the arena: the keys the vendor
// keeps are answered exactly once, every time.
func TestReadersDuringUpdates(t *testing.T) {
	defer vendors.SetCompactMin(16 << 10)()
	x, err := vendors.NewIndex([]vendors.Vendor{{ID: "acme", Domains: []string{"acme.com"}, Contacts: []string{"ann@acme.com", "acme.owner@gmail.com"}}})
	require.NoError(t, err)
	stable := []vendors.Key{{Kind: vendors.KeyDomain, Value: "acme.com"}, {Kind: vendors.KeyContact, Value: "ann@acme.com"},
		{Kind: vendors.KeyContact, Value: "acme.owner@gmail.com"}, {Kind: vendors.KeyID, Value: "acme"}}
	var wg gosync.WaitGroup
	stop := make(chan struct{})
	var reads [2]int
	// The writer starts once both readers have read: otherwise, with one
	// processor, it could finish before they run.
	var started gosync.WaitGroup
	started.Add(2)
	for r := range 2 {
		wg.Go(func() {
			read := gosync.OnceFunc(started.Done)
			defer read() // a reader that fails at once must not hold the writer up
			hits := make([]vendors.Hit, 0, 8)
			for {
				select {
				case <-stop:
					return
				default:
				}
				hits, _ = x.Lookup(context.Background(), hits[:0], stable)
				if len(hits) != len(stable) {
					t.Errorf("got %v, want one hit per key", hits)
					return
				}
				for i, h := range hits {
					if h.Key != i || h.VendorID != "acme" {
						t.Errorf("got %v", hits)
						return
					}
				}
				if v, ok := x.Vendor("acme"); !ok || v.Domains[0] != "acme.com" {
					t.Errorf("Vendor: %+v %v", v, ok)
					return
				}
				reads[r]++
				read()
			}
		})
	}
	started.Wait()
	for i := range 3000 {
		v := vendors.Vendor{ID: "acme", Name: fmt.Sprint("Acme ", i), Tracked: i%2 == 0,
			Domains: []string{"acme.com"}, Contacts: []string{"ann@acme.com", "acme.owner@gmail.com"}}
		if i%3 == 0 {
			v.Domains = append(v.Domains, fmt.Sprintf("acme%d.example", i))
			v.Contacts = append(v.Contacts, fmt.Sprintf("temp%d@acme.com", i))
		}
		require.NoError(t, x.Put(v))
		d := fmt.Sprintf("vendor%05d", i)
		require.NoError(t, x.Put(vendors.Vendor{ID: d, Domains: []string{d + ".com"}, Contacts: []string{"a@" + d + ".com", "b@" + d + ".com"}}))
		if i%2 == 1 {
			x.Remove(fmt.Sprintf("vendor%05d", i-1))
		}
	}
	close(stop)
	wg.Wait()
	assert.Positive(t, reads[0]+reads[1])
	table, used, _, _, _ := x.Stats()
	assert.Equal(t, 4+1500*4, used, "acme's 4 keys and 1,500 vendors of 4")
	assert.Greater(t, table, 4000, "the table grew")
	assert.Equal(t, []string{"vendor02999"}, lookup(t, x, vendors.KeyContact, "b@vendor02999.com"))
	assert.Nil(t, lookup(t, x, vendors.KeyContact, "a@vendor02998.com"), "removed")
	assert.Nil(t, lookup(t, x, vendors.KeyDomain, "acme2997.example"), "dropped by the last update")
}

// TestIndexSpansChunks fills several arena chunks, in bulk and one vendor
// at a time, and finds every vendor again.
func TestIndexSpansChunks(t *testing.T) {
	vs := Synthetic(16000)
	x, err := vendors.NewIndex(vs[:8000])
	require.NoError(t, err)
	for _, v := range vs[8000:] {
		require.NoError(t, x.Put(v))
	}
	require.Equal(t, len(vs), x.Len())
	_, _, _, live, _ := x.Stats()
	assert.Greater(t, live, 2*vendors.MaxVendorBytes, "more than two chunks")
	far, err := x.CheckEntries()
	require.NoError(t, err)
	assert.Zero(t, far)
	for i := 0; i < len(vs); i += 7 {
		v := vs[i]
		got, ok := x.Vendor(v.ID)
		require.True(t, ok, v.ID)
		assert.Equal(t, v, got)
		want := v.ID
		if v.Tracked {
			want += "(tracked)"
		}
		assert.Equal(t, []string{want}, lookup(t, x, vendors.KeyContact, v.Contacts[1]))
		assert.Equal(t, []string{want}, lookup(t, x, vendors.KeyDomain, v.Domains[2]))
	}
}

// TestIndexFarRecords looks up the keys of a vendor whose block is long,
// so most of its records lie 255 bytes or more from its start (where the
// table entry cannot say where the start is), before and after the
// vendor changes and the table grows.
func TestIndexFarRecords(t *testing.T) {
	v := vendors.Vendor{ID: "big", Name: "Big Ltd", Domains: []string{"big.example", "big.test"}}
	for i := range 120 {
		v.Contacts = append(v.Contacts, fmt.Sprintf("person%03d@big.example", i), fmt.Sprintf("person%03d@elsewhere%d.example", i, i))
	}
	x, err := vendors.NewIndex([]vendors.Vendor{v})
	require.NoError(t, err)
	// farRecords counts v's records at 255 bytes or more from its block's
	// start, in the block's documented layout: the ID record, the name
	// and the counts (16 bytes here), the domain records, then the
	// contact records, a contact at one of v's domains as its local part
	// and the domain's number.
	farRecords := func() int {
		at, far := 3+len(v.ID)+1+len(v.Name)+2, 0
		rec := func(body int) {
			if at >= 255 {
				far++
			}
			back := 1
			if at >= 128 {
				back = 2
			}
			at += 2 + back + body
		}
		for _, d := range v.Domains {
			rec(len(d))
		}
		for _, c := range v.Contacts {
			local, domain, _ := strings.Cut(c, "@")
			if slices.Contains(v.Domains, domain) {
				rec(1 + len(local))
			} else {
				rec(len(c))
			}
		}
		return far
	}
	check := func() {
		t.Helper()
		far, err := x.CheckEntries()
		require.NoError(t, err)
		assert.Equal(t, farRecords(), far)
		assert.Greater(t, far, 50)
		for _, c := range v.Contacts {
			assert.Equal(t, []string{"big"}, lookup(t, x, vendors.KeyContact, c), c)
		}
		for _, d := range v.Domains {
			assert.Equal(t, []string{"big"}, lookup(t, x, vendors.KeyDomain, d), d)
		}
	}
	check()
	v.Contacts = v.Contacts[:100]
	require.NoError(t, x.Put(v))
	for i := range 500 {
		require.NoError(t, x.Put(vendors.Vendor{ID: fmt.Sprintf("small%d", i), Domains: []string{fmt.Sprintf("small%d.example", i)}}))
	}
	check()
}

// TestPrefetch: prefetching keys, present, absent and odd, changes no
// answer, on an empty index and a full one.
func TestPrefetch(t *testing.T) {
	empty, err := vendors.NewIndex(nil)
	require.NoError(t, err)
	x, err := vendors.NewIndex(Synthetic(100))
	require.NoError(t, err)
	keys := []vendors.Key{{Kind: vendors.KeyContact, Value: "ann@vendor0000007.com"}, {Kind: vendors.KeyDomain, Value: "vendor0000042.co.uk"},
		{Kind: vendors.KeyDomain, Value: "nobody.example"}, {Kind: vendors.KeyID, Value: "v0000099"}, {Kind: vendors.KeyContact, Value: ""}}
	var pf vendors.Prefetcher = x
	for _, k := range keys {
		pf.Prefetch(k)
		empty.Prefetch(k)
	}
	hits, err := x.Lookup(context.Background(), nil, keys)
	require.NoError(t, err)
	assert.Equal(t, []vendors.Hit{
		{Key: 0, VendorID: "v0000007", Name: "Vendor 7 Ltd", Tracked: true},
		{Key: 1, VendorID: "v0000042", Name: "Vendor 42 Ltd", Tracked: true},
		{Key: 3, VendorID: "v0000099", Name: "Vendor 99 Ltd", Tracked: true},
	}, hits)
	hits, err = empty.Lookup(context.Background(), nil, keys)
	require.NoError(t, err)
	assert.Empty(t, hits)
}
