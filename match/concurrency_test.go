package match_test

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

// TestMatchingDuringUpdates matches messages from several goroutines while
// the index changes (a vendor's tracked flag and domains flip, others come
// and go) and the overrides change: what does not change always matches
// the same, and what changes matches as before or as after, never
// otherwise. Run it with -race.
func TestMatchingDuringUpdates(t *testing.T) {
	x := newIndex(t)
	m := newMatcher(t, match.Config{Directory: x, TrackedOnly: true})
	msg := &m365link.Message{
		From: m365link.EmailAddress{Address: "hank@globex.com"},
		To:   []m365link.EmailAddress{{Address: "bob@mail.eu.acme.co.uk"}, {Address: "alice@contoso.com"}},
		Cc:   []m365link.EmailAddress{{Address: "li@roo.com.au"}, {Address: "pat@umbrella-group.com"}},
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var wg gosync.WaitGroup
	var matched [3]int
	for g := range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := m.MatchMessage(ctx, msg)
				if err != nil {
					t.Error(err)
					return
				}
				// globex and acme never change. roo is tracked or not;
				// pat is ambiguous or pinned to umbrella.
				vs := fmt.Sprint(r.Vendors())
				switch vs {
				case "[globex acme roo]", "[globex acme]", "[globex acme roo umbrella]", "[globex acme umbrella]":
				default:
					t.Errorf("vendors %s:\n%s", vs, r.Explain())
					return
				}
				if len(r.Matches)+len(r.Dropped) != 5 {
					t.Errorf("five participants, five outcomes:\n%s", r.Explain())
					return
				}
				a, err := m.MatchAddress(ctx, fmt.Sprintf("someone%d@vendor%d.example", matched[g]%50, matched[g]%100))
				if err != nil || len(a.Matches)+len(a.Dropped) != 1 {
					t.Errorf("%v %v", a, err)
					return
				}
				matched[g]++
			}
		})
	}
	for i := range 400 {
		require.NoError(t, x.Put(vendors.Vendor{ID: "roo", Name: "Roo Pty Ltd", Tracked: i%2 == 0,
			Domains: []string{"roo.com.au", fmt.Sprintf("roo%d.example", i)}}))
		d := fmt.Sprintf("vendor%d.example", i%100)
		if i%3 == 0 {
			x.Remove(d)
		} else {
			require.NoError(t, x.Put(vendors.Vendor{ID: d, Tracked: true, Domains: []string{d}}))
		}
		o := match.Overrides{}
		if i%4 == 0 {
			o.Pin = map[string]string{"pat@umbrella-group.com": "umbrella"}
		}
		_, err := m.SetOverrides(o)
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	assert.Positive(t, matched[0]+matched[1]+matched[2])

	// Settled: the last update shows.
	r, err := m.MatchMessage(ctx, msg)
	require.NoError(t, err)
	assert.Equal(t, []string{"globex", "acme"}, r.Vendors(), "roo untracked after an odd number of flips; no pin")
}
