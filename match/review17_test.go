package match_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

type review17Plain struct{ d vendors.Directory }

func (p review17Plain) Lookup(ctx context.Context, dst []vendors.Hit, keys []vendors.Key) ([]vendors.Hit, error) {
	return p.d.Lookup(ctx, dst, keys)
}

// TestReview17CachedEqualsUncached: a matcher on an Index (cached) and
// one on the same Index hidden behind a non-versioned Directory (never
// cached) give the same results, single and batched, across vendor
// changes and override changes, for deep and shallow domains.
func TestReview17CachedEqualsUncached(t *testing.T) {
	x := newIndex(t)
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := match.Config{InternalDomains: internal, TrackedOnly: true}
	cfg.Directory = x
	mc, err := match.New(cfg)
	require.NoError(t, err)
	cfg.Directory = review17Plain{x}
	mu, err := match.New(cfg)
	require.NoError(t, err)
	deep := strings.Repeat("a.", 20) + "acme.com" // 22 labels
	pool := []string{"ann.vendor@acme.com", "bob@acme.com", "x@" + deep, "y@" + strings.Repeat("b.", 17) + "globex.com",
		"hank@globex.com", "pat@umbrella-group.com", "li@roo.com.au", "x@eu.roo.com.au", "z@mail.com", "q@gmail.com",
		"acme.owner@gmail.com", "jane.guest@contoso.com", "noreply@globex.com", "a@x.y.z.w.v.u.t.s.r.q.p.o.n.m.l.k.j.i.h.g.f.e.d.c.b.initech.com"}
	for i := range 40 {
		pool = append(pool, fmt.Sprintf("p%d@v%d.example", i, i%7), fmt.Sprintf("s%d@sub.v%d.example", i, i%7))
	}
	ctx := context.Background()
	for round := range 300 {
		switch rng.IntN(6) {
		case 0:
			i := rng.IntN(7)
			require.NoError(t, x.Put(vendors.Vendor{ID: fmt.Sprintf("v%d", i), Name: fmt.Sprint("V", round), Tracked: rng.IntN(2) == 0,
				Domains: []string{fmt.Sprintf("v%d.example", i)}, Contacts: []string{fmt.Sprintf("p%d@v%d.example", rng.IntN(40), i)}}))
		case 1:
			x.Remove(fmt.Sprintf("v%d", rng.IntN(7)))
		case 2:
			o := match.Overrides{}
			if rng.IntN(2) == 0 {
				o.Pin = map[string]string{fmt.Sprintf("v%d.example", rng.IntN(7)): "acme", "a.a.a.a.acme.com": "globex"}
			}
			if rng.IntN(2) == 0 {
				o.Ignore = []string{"hank@globex.com", "b.b.globex.com"}
			}
			_, err := mc.SetOverrides(o)
			require.NoError(t, err)
			_, err = mu.SetOverrides(o)
			require.NoError(t, err)
		}
		for range 20 {
			a := pool[rng.IntN(len(pool))]
			rc, err := mc.MatchAddress(ctx, a)
			require.NoError(t, err)
			ru, err := mu.MatchAddress(ctx, a)
			require.NoError(t, err)
			require.Equal(t, ru, rc, "round %d %s", round, a)
		}
		batch := make([]string, 70)
		for i := range batch {
			batch[i] = pool[rng.IntN(len(pool))]
		}
		bc, err := mc.MatchAddresses(ctx, batch)
		require.NoError(t, err)
		bu, err := mu.MatchAddresses(ctx, batch)
		require.NoError(t, err)
		require.Equal(t, bu, bc, "round %d", round)
		for i, a := range batch {
			r, err := mu.MatchAddress(ctx, a)
			require.NoError(t, err)
			require.Equal(t, r, bu[i], "round %d %s", round, a)
		}
		var msgs []m365link.Message
		for range 5 {
			var msg m365link.Message
			msg.From.Address = pool[rng.IntN(len(pool))]
			for range rng.IntN(12) {
				msg.To = append(msg.To, m365link.EmailAddress{Address: pool[rng.IntN(len(pool))]})
			}
			msgs = append(msgs, msg)
		}
		mc2, err := mc.MatchMessages(ctx, msgs)
		require.NoError(t, err)
		mu2, err := mu.MatchMessages(ctx, msgs)
		require.NoError(t, err)
		require.Equal(t, mu2, mc2, "round %d", round)
		for i := range msgs {
			r, err := mu.MatchMessage(ctx, &msgs[i])
			require.NoError(t, err)
			require.Equal(t, r, mu2[i], "round %d", round)
		}
	}
}

// TestReview17DeepDomainPins: pins at each level of a domain of more than
// 16 labels are found (suffixes' hashes past its 16-entry buffer).
func TestReview17DeepDomainPins(t *testing.T) {
	ctx := context.Background()
	labels := []string{}
	for i := range 20 {
		labels = append(labels, fmt.Sprintf("l%d", i))
	}
	dom := strings.Join(labels, ".") + ".acme.com" // 22 labels
	for k := 0; k <= 20; k++ {
		key := strings.Join(labels[k:], ".")
		if k == 20 {
			key = ""
		} else {
			key += "."
		}
		key += "acme.com"
		for _, kind := range []match.PinKind{match.PinDomainAndSubdomains, match.PinDomain} {
			m := newMatcher(t, match.Config{Overrides: match.Overrides{Pins: []match.Pin{{Kind: kind, Key: key, VendorID: "globex"}}}})
			r, err := m.MatchAddress(ctx, "x@"+dom)
			require.NoError(t, err)
			want := "globex"
			if kind == match.PinDomain && k != 0 {
				want = "acme"
			}
			require.Len(t, r.Matches, 1, "%s %v", key, kind)
			require.Equal(t, want, r.Matches[0].VendorID, "%s %v", key, kind)
			if want == "globex" {
				require.Equal(t, key, r.Matches[0].Key)
			}
		}
	}
	// Internal and free-mail parents deep down.
	m := newMatcher(t, match.Config{})
	r, err := m.MatchAddress(ctx, "x@"+strings.Repeat("q.", 18)+"contoso.com")
	require.NoError(t, err)
	require.Len(t, r.Dropped, 1)
	require.Equal(t, match.ReasonInternal, r.Dropped[0].Reason)
	require.Equal(t, "contoso.com", r.Dropped[0].Key)
	r, err = m.MatchAddress(ctx, "x@"+strings.Repeat("q.", 18)+"gmail.com")
	require.NoError(t, err)
	require.Len(t, r.Dropped, 1)
	require.Equal(t, match.ReasonFreemail, r.Dropped[0].Reason)
}
