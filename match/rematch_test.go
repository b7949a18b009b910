package match_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

// memoryStore is a host's store of items with their vendors, answering
// Affected the way a database would: by the participants' addresses and
// domains.
type memoryStore struct {
	items   []match.Item
	vendors map[string][]string
	saves   int
	failOn  string
}

func (s *memoryStore) Affected(_ context.Context, c match.Change) iter.Seq2[match.Item, error] {
	return func(yield func(match.Item, error) bool) {
		for _, it := range s.items {
			var ps []m365link.EmailAddress
			if it.Message != nil {
				ps = it.Message.Participants()
			} else {
				ps = it.Event.Participants()
			}
			hit := slices.ContainsFunc(s.vendors[it.ID], func(v string) bool { return slices.Contains(c.Vendors, v) })
			for _, p := range ps {
				n, ok := vendors.NormalizeAddress(p.Address)
				if !ok {
					continue
				}
				d := n[strings.IndexByte(n, '@')+1:]
				hit = hit || slices.Contains(c.Addresses, n) || slices.ContainsFunc(c.Domains, func(cd string) bool { return d == cd || strings.HasSuffix(d, "."+cd) })
			}
			if hit && !yield(it, nil) {
				return
			}
		}
	}
}

func (s *memoryStore) SaveResult(_ context.Context, it match.Item, r match.Result) error {
	if it.ID == s.failOn {
		return errors.New("disk full")
	}
	s.saves++
	s.vendors[it.ID] = r.Vendors()
	return nil
}

func TestVendorChange(t *testing.T) {
	before := vendors.Vendor{ID: "acme", Tracked: true, Domains: []string{"acme.com", "acme.co.uk"}, Contacts: []string{"Ann <ann@acme.com>", "sales@acme.com"}}
	after := vendors.Vendor{ID: "acme", Tracked: true, Domains: []string{"ACME.com", "acme.de"}, Contacts: []string{"ann+x@acme.com", "acme.owner@gmail.com"}}
	assert.Equal(t, match.Change{Domains: []string{"acme.co.uk", "acme.de"}, Addresses: []string{"acme.owner@gmail.com", "sales@acme.com"}},
		match.VendorChange(&before, &after))
	assert.Equal(t, match.Change{}, match.VendorChange(&before, &before))
	assert.True(t, match.VendorChange(&before, &before).IsZero())
	assert.Equal(t, match.Change{Domains: []string{"acme.co.uk", "acme.com"}, Addresses: []string{"ann@acme.com", "sales@acme.com"}, Vendors: []string{"acme"}},
		match.VendorChange(nil, &before))
	assert.Equal(t, match.Change{Domains: []string{"acme.co.uk", "acme.com"}, Addresses: []string{"ann@acme.com", "sales@acme.com"}, Vendors: []string{"acme"}},
		match.VendorChange(&before, nil))
	untracked := before
	untracked.Tracked = false
	assert.Equal(t, match.Change{Domains: []string{"acme.co.uk", "acme.com"}, Addresses: []string{"ann@acme.com", "sales@acme.com"}, Vendors: []string{"acme"}},
		match.VendorChange(&before, &untracked))
	assert.Equal(t, match.Change{Domains: []string{"a.com", "b.com"}, Addresses: []string{"x@a.com"}, Vendors: []string{"v"}},
		match.Change{Domains: []string{"b.com"}, Vendors: []string{"v"}}.Merge(match.Change{Domains: []string{"a.com", "b.com"}, Addresses: []string{"x@a.com"}}))
}

func TestRematchAfterVendorAndOverrideChanges(t *testing.T) {
	x := newIndex(t)
	m := newMatcher(t, match.Config{Directory: x, TrackedOnly: true, Overrides: match.Overrides{Pin: map[string]string{"partner@hooli.io": "acme"}}})
	ctx := context.Background()
	s := &memoryStore{vendors: map[string][]string{}, items: []match.Item{
		{ID: "m1", Message: &m365link.Message{From: m365link.EmailAddress{Address: "sam@globex-logistics.com"}, To: []m365link.EmailAddress{{Address: "alice@contoso.com"}}}},
		{ID: "m2", Message: &m365link.Message{From: m365link.EmailAddress{Address: "hank@globex.com"}}},
		{ID: "e1", Event: &m365link.Event{Organizer: m365link.EmailAddress{Address: "alice@contoso.com"},
			Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "partner@hooli.io"}}}}},
		{ID: "m3", Message: &m365link.Message{From: m365link.EmailAddress{Address: "ops@eu.globex-logistics.com"}}},
	}}
	for _, it := range s.items {
		r, err := m.MatchItem(ctx, it)
		require.NoError(t, err)
		require.NoError(t, s.SaveResult(ctx, it, r))
	}
	assert.Equal(t, map[string][]string{"m1": nil, "m2": {"globex"}, "e1": {"acme"}, "m3": nil}, s.vendors)

	// Globex's logistics subsidiary gets its domain.
	before, _ := x.Vendor("globex")
	after := before
	after.Domains = append(slices.Clone(before.Domains), "globex-logistics.com")
	require.NoError(t, x.Put(after))
	s.saves = 0
	n, err := m.Rematch(ctx, s, match.VendorChange(&before, &after))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "only m1 and m3 are affected")
	assert.Equal(t, map[string][]string{"m1": {"globex"}, "m2": {"globex"}, "e1": {"acme"}, "m3": {"globex"}}, s.vendors,
		"the override on e1 survives")

	// The admin stops tracking Globex.
	before = after
	after.Tracked = false
	require.NoError(t, x.Put(after))
	n, err = m.Rematch(ctx, s, match.VendorChange(&before, &after))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, map[string][]string{"m1": nil, "m2": nil, "e1": {"acme"}, "m3": nil}, s.vendors)

	// The host re-pins the hooli.io partner to Globex... which is untracked now.
	c, err := m.SetOverrides(match.Overrides{Pin: map[string]string{"partner@hooli.io": "globex"}})
	require.NoError(t, err)
	n, err = m.Rematch(ctx, s, c)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, map[string][]string{"m1": nil, "m2": nil, "e1": nil, "m3": nil}, s.vendors)

	n, err = m.Rematch(ctx, s, match.Change{})
	require.NoError(t, err)
	assert.Zero(t, n, "nothing changed, nothing to do")

	s.failOn = "m2"
	_, err = m.Rematch(ctx, s, match.Change{Vendors: []string{"globex"}, Domains: []string{"globex.com"}})
	assert.EqualError(t, err, "match: rematch: saving m2: disk full")

	s.failOn = ""
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Rematch(cancelled, s, match.Change{Domains: []string{"globex.com"}})
	require.ErrorIs(t, err, context.Canceled)
	assert.EqualError(t, err, "match: rematch: context canceled")

	_, err = m.MatchItem(ctx, match.Item{ID: "odd"})
	assert.EqualError(t, err, `match: item "odd" must have a message or an event`)
}
