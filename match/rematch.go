package match

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/vendors"
)

// Change names what changed in the vendors or the overrides, so that a
// host re-matches only the stored items it can affect. All values are
// normalised.
type Change struct {
	// Domains: items with a participant at one of these domains, or at a
	// subdomain of one, can match differently now.
	Domains []string
	// Addresses: items with one of these participants can.
	Addresses []string
	// Vendors: items matched to these vendors, or dropped with them as
	// candidates, can (a tracked flag changed, or the vendor was removed).
	Vendors []string
	// LocalParts: items with a participant whose local part starts with
	// one of these can (the role list changed: see [Overrides.RoleList]).
	LocalParts []string
}

// IsZero reports whether nothing needs re-matching.
func (c Change) IsZero() bool {
	return len(c.Domains) == 0 && len(c.Addresses) == 0 && len(c.Vendors) == 0 && len(c.LocalParts) == 0
}

// Merge returns c and d together.
func (c Change) Merge(d Change) Change {
	return Change{Domains: append(slices.Clone(c.Domains), d.Domains...), Addresses: append(slices.Clone(c.Addresses), d.Addresses...),
		Vendors: append(slices.Clone(c.Vendors), d.Vendors...), LocalParts: append(slices.Clone(c.LocalParts), d.LocalParts...)}.normal()
}

func (c Change) normal() Change {
	for _, s := range []*[]string{&c.Domains, &c.Addresses, &c.Vendors, &c.LocalParts} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
		if len(*s) == 0 {
			*s = nil
		}
	}
	return c
}

// VendorChange returns what to re-match after a vendor changed from before
// to after: nil before for a new vendor, nil after for a removed one. Added
// and removed domains and contacts count; when the tracked flag flips (or
// the vendor comes or goes) all of them do, and the vendor itself.
func VendorChange(before, after *vendors.Vendor) Change {
	var b, a keySet
	b.add(before)
	a.add(after)
	var c Change
	whole := before == nil || after == nil || before.Tracked != after.Tracked
	for _, s := range []struct {
		x, y keySet
	}{{b, a}, {a, b}} {
		for _, d := range s.x.domains {
			if whole || !slices.Contains(s.y.domains, d) {
				c.Domains = append(c.Domains, d)
			}
		}
		for _, ad := range s.x.contacts {
			if whole || !slices.Contains(s.y.contacts, ad) {
				c.Addresses = append(c.Addresses, ad)
			}
		}
	}
	if whole {
		for _, v := range []*vendors.Vendor{before, after} {
			if v != nil {
				c.Vendors = append(c.Vendors, v.ID)
			}
		}
	}
	return c.normal()
}

type keySet struct{ domains, contacts []string }

func (k *keySet) add(v *vendors.Vendor) {
	if v == nil {
		return
	}
	for _, d := range v.Domains {
		if n, ok := vendors.NormalizeDomain(d); ok {
			k.domains = append(k.domains, n)
		}
	}
	for _, c := range v.Contacts {
		if n, ok := vendors.NormalizeAddress(c); ok {
			k.contacts = append(k.contacts, n)
		}
	}
}

// Item is a stored message or event: exactly one of Message and Event is set.
type Item struct {
	// ID is the host's key for the item (its Graph immutable ID).
	ID string
	// Message or Event is the item.
	Message *m365link.Message
	Event   *m365link.Event
}

// Store is the host's store of synced items, as [Matcher.Rematch] needs it.
type Store interface {
	// Affected yields the stored items that c can affect (see [Change]).
	// Yielding more is correct, only slower; yielding fewer leaves stale
	// matches. The sequence ends at the first error it yields.
	Affected(ctx context.Context, c Change) iter.Seq2[Item, error]
	// SaveResult replaces the vendor matches stored for the item.
	SaveResult(ctx context.Context, it Item, r Result) error
}

// Rematch matches again the stored items a change can affect, after a
// vendor's domains, contacts or tracked flag changed ([VendorChange]) or
// the overrides did ([Matcher.SetOverrides]), and saves each new result.
// Overrides apply as always, so the host's corrections survive. It returns
// how many items it saved, and stops at the first error.
func (m *Matcher) Rematch(ctx context.Context, s Store, c Change) (int, error) {
	if c.IsZero() {
		return 0, nil
	}
	n := 0
	for it, err := range s.Affected(ctx, c) {
		if err != nil {
			return n, fmt.Errorf("match: rematch: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("match: rematch: %w", err)
		}
		r, err := m.MatchItem(ctx, it)
		if err != nil {
			return n, err
		}
		if err := s.SaveResult(ctx, it, r); err != nil {
			return n, fmt.Errorf("match: rematch: saving %s: %w", it.ID, err)
		}
		n++
	}
	return n, nil
}

// MatchItem matches a stored item's message or event.
func (m *Matcher) MatchItem(ctx context.Context, it Item) (Result, error) {
	switch {
	case it.Message != nil && it.Event == nil:
		return m.MatchMessage(ctx, it.Message)
	case it.Event != nil && it.Message == nil:
		return m.MatchEvent(ctx, it.Event)
	}
	return Result{}, fmt.Errorf("match: item %q must have a message or an event", it.ID)
}
