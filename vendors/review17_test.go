package vendors

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReview17BatchAgainstModel: random puts/removes (some vendors with
// blocks far over 255 bytes), then every key at once in one Lookup
// (groups of 32, duplicates and absent keys), compared with a model.
func TestReview17BatchAgainstModel(t *testing.T) {
	defer SetCompactMin(8 << 10)()
	rng := rand.New(rand.NewPCG(review17Seed, 9))
	x, err := NewIndex(nil)
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]Vendor{}
	domain := func() string { return fmt.Sprintf("d%d.example", rng.IntN(400)) }
	for round := range 60 {
		for range 80 {
			id := fmt.Sprintf("v%d", rng.IntN(150))
			if rng.IntN(5) == 0 {
				x.Remove(id)
				delete(model, id)
				continue
			}
			v := Vendor{ID: id, Name: "Vendor " + id, Tracked: rng.IntN(2) == 0}
			for range rng.IntN(4) {
				v.Domains = append(v.Domains, domain())
			}
			nc := rng.IntN(6)
			if rng.IntN(8) == 0 {
				nc = 40 + rng.IntN(40)
			}
			for range nc {
				d := domain()
				if len(v.Domains) > 0 && rng.IntN(2) == 0 {
					d = v.Domains[rng.IntN(len(v.Domains))]
				}
				v.Contacts = append(v.Contacts, fmt.Sprintf("p%d@%s", rng.IntN(30), d))
			}
			if err := x.Put(v); err != nil {
				t.Fatal(err)
			}
			n, _ := normalize(v)
			model[id] = n
		}
		if _, err := x.CheckEntries(); err != nil {
			t.Fatal(err)
		}
		var keys []Key
		want := map[int][]string{}
		add := func(k Key) {
			i := len(keys)
			keys = append(keys, k)
			for _, v := range model {
				switch {
				case k.Kind == KeyID && v.ID == k.Value,
					k.Kind == KeyDomain && slices.Contains(v.Domains, k.Value),
					k.Kind == KeyContact && slices.Contains(v.Contacts, k.Value):
					want[i] = append(want[i], v.ID)
				}
			}
			slices.Sort(want[i])
		}
		for i := range 400 {
			add(Key{Kind: KeyDomain, Value: fmt.Sprintf("d%d.example", i)})
			add(Key{Kind: KeyContact, Value: fmt.Sprintf("p%d@d%d.example", rng.IntN(30), i)})
			if i < 160 {
				add(Key{Kind: KeyID, Value: fmt.Sprintf("v%d", i)})
			}
		}
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		// recompute want after shuffle
		want = map[int][]string{}
		ks := keys
		keys = nil
		for _, k := range ks {
			add(k)
		}
		hits, err := x.Lookup(context.Background(), nil, keys)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int][]string{}
		for _, h := range hits {
			got[h.Key] = append(got[h.Key], h.VendorID)
			v := model[h.VendorID]
			if h.Name != v.Name || h.Tracked != v.Tracked {
				t.Fatalf("round %d: hit %+v, vendor %+v", round, h, v)
			}
		}
		for i := range keys {
			g := got[i]
			slices.Sort(g)
			if !slices.Equal(g, want[i]) {
				t.Fatalf("round %d: key %d %v: got %v, want %v", round, i, keys[i], g, want[i])
			}
		}
	}
}

// TestReview17ReadersDuringUpdatesBatch: like TestReadersDuringUpdates
// but with a vendor whose block is far over 255 bytes and a lookup of
// many groups of 32 keys at once, kept keys mixed with absent ones.
func TestReview17ReadersDuringUpdatesBatch(t *testing.T) {
	defer SetCompactMin(16 << 10)()
	base := Vendor{ID: "big", Name: "Big", Domains: []string{"big.example", "big.test"}}
	for i := range 60 {
		base.Contacts = append(base.Contacts, fmt.Sprintf("person%03d@big.example", i), fmt.Sprintf("person%03d@else%d.example", i, i))
	}
	x, err := NewIndex([]Vendor{base})
	if err != nil {
		t.Fatal(err)
	}
	var keys []Key
	var stable []bool
	for i, c := range base.Contacts {
		keys = append(keys, Key{Kind: KeyContact, Value: c})
		stable = append(stable, true)
		if i%3 == 0 {
			keys = append(keys, Key{Kind: KeyContact, Value: "nobody" + c})
			stable = append(stable, false)
		}
	}
	keys = append(keys, Key{Kind: KeyDomain, Value: "big.example"}, Key{Kind: KeyID, Value: "big"}, Key{Kind: KeyDomain, Value: "big.test"})
	stable = append(stable, true, true, true)
	stop := make(chan struct{})
	done := make(chan struct{}, 2)
	errs := make(chan string, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			var hits []Hit
			for {
				select {
				case <-stop:
					return
				default:
				}
				hits, _ = x.Lookup(context.Background(), hits[:0], keys)
				count := make([]int, len(keys))
				for _, h := range hits {
					count[h.Key]++
					if h.VendorID != "big" {
						errs <- fmt.Sprintf("hit %+v", h)
						return
					}
				}
				for i, s := range stable {
					if s && count[i] != 1 || !s && count[i] != 0 {
						errs <- fmt.Sprintf("key %v: %d hits", keys[i], count[i])
						return
					}
				}
			}
		}()
	}
	for i := range 1500 {
		v := base
		v.Name = fmt.Sprint("Big ", i)
		v.Tracked = i%2 == 0
		v.Contacts = append([]string(nil), base.Contacts...)
		if i%2 == 0 {
			v.Contacts = append([]string{fmt.Sprintf("temp%d@big.example", i)}, v.Contacts...)
			v.Domains = append([]string{fmt.Sprintf("temp%d.example", i)}, v.Domains...)
		}
		rand.Shuffle(len(v.Contacts), func(a, b int) { v.Contacts[a], v.Contacts[b] = v.Contacts[b], v.Contacts[a] })
		if err := x.Put(v); err != nil {
			t.Fatal(err)
		}
		d := fmt.Sprintf("v%05d", i)
		if err := x.Put(Vendor{ID: d, Domains: []string{d + ".com"}, Contacts: []string{"a@" + d + ".com"}}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			x.Remove(fmt.Sprintf("v%05d", i-1))
		}
		select {
		case e := <-errs:
			t.Fatal(e)
		default:
		}
	}
	close(stop)
	<-done
	<-done
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
}

// TestReview17LastBucketWraps: keys whose first bucket is the table's
// last overflow into entry 0 onwards; a batch finds each once, in every
// group position (bit 31 of more included).
func TestReview17LastBucketWraps(t *testing.T) {
	var filler []Vendor
	for i := range 300 {
		filler = append(filler, Vendor{ID: fmt.Sprintf("f%d", i), Domains: []string{fmt.Sprintf("f%d.example", i)}})
	}
	x, err := NewIndex(filler)
	if err != nil {
		t.Fatal(err)
	}
	n := len(x.state.Load().table)
	var last, absent []string
	for i := 0; len(last) < 14 || len(absent) < 20; i++ {
		d := fmt.Sprintf("w%d.example", i)
		if slot(hashKey(x.seed, KeyDomain, d), n) == n-bucket {
			if len(last) < 14 {
				last = append(last, d)
			} else {
				absent = append(absent, d)
			}
		}
	}
	if err := x.Put(Vendor{ID: "w", Domains: last}); err != nil {
		t.Fatal(err)
	}
	if len(x.state.Load().table) != n {
		t.Fatal("table grew")
	}
	if e := x.state.Load().table[0].Load(); e == 0 {
		t.Fatal("nothing wrapped")
	}
	keys := []Key{}
	for i := range 17 {
		keys = append(keys, Key{Kind: KeyDomain, Value: fmt.Sprintf("f%d.example", i)})
	}
	for i := range last {
		keys = append(keys, Key{Kind: KeyDomain, Value: last[i]}, Key{Kind: KeyDomain, Value: absent[i]})
	}
	for shift := range 40 {
		ks := append(keys[shift:len(keys):len(keys)], keys[:shift]...)
		hits, _ := x.Lookup(context.Background(), nil, ks)
		count := make([]int, len(ks))
		for _, h := range hits {
			count[h.Key]++
		}
		for i, k := range ks {
			want := 1
			if slices.Contains(absent, k.Value) {
				want = 0
			}
			if count[i] != want {
				t.Fatalf("shift %d: %v: %d hits, want %d", shift, k, count[i], want)
			}
		}
	}
}

var review17Seed uint64 = 7

// TestReview17TagCollision: two keys with the same 24-bit tag in the same
// bucket each find only their own vendor, alone and in one batch.
func TestReview17TagCollision(t *testing.T) {
	var filler []Vendor
	for i := range 300 {
		filler = append(filler, Vendor{ID: fmt.Sprintf("f%d", i), Domains: []string{fmt.Sprintf("f%d.example", i)}})
	}
	x, err := NewIndex(filler)
	if err != nil {
		t.Fatal(err)
	}
	n := len(x.state.Load().table)
	seen := map[uint64]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		d := fmt.Sprintf("c%d.example", i)
		h := hashKey(x.seed, KeyDomain, d)
		k := h&tagMask | uint64(slot(h, n))<<24
		if o, ok := seen[k]; ok {
			a, b = o, d
		}
		seen[k] = d
	}
	if err := x.Put(Vendor{ID: "va", Domains: []string{a}}); err != nil {
		t.Fatal(err)
	}
	if err := x.Put(Vendor{ID: "vb", Domains: []string{b}}); err != nil {
		t.Fatal(err)
	}
	if len(x.state.Load().table) != n {
		t.Fatal("table grew")
	}
	hits, _ := x.Lookup(context.Background(), nil, []Key{{Kind: KeyDomain, Value: b}, {Kind: KeyDomain, Value: a}, {Kind: KeyContact, Value: "x@" + a}})
	if len(hits) != 2 || hits[0].Key != 0 || hits[0].VendorID != "vb" || hits[1].Key != 1 || hits[1].VendorID != "va" {
		t.Fatalf("%s, %s: %+v", a, b, hits)
	}
	x.Remove("va")
	hits, _ = x.Lookup(context.Background(), nil, []Key{{Kind: KeyDomain, Value: a}, {Kind: KeyDomain, Value: b}})
	if len(hits) != 1 || hits[0].Key != 1 || hits[0].VendorID != "vb" {
		t.Fatalf("%+v", hits)
	}
}
