package vendors

import (
	"hash/maphash"
	"strings"
	gosync "sync"

	"golang.org/x/net/publicsuffix"
)

// registrable returns the index in a valid domain (see validDomain) of its
// registrable domain, the public suffix plus one label, or -1 when the
// domain is a public suffix itself.
//
// publicsuffix.PublicSuffix costs about 150 ns and an allocation (its
// IP-address check builds an error), as much as the rest of normalising
// an address, so answers for domains of up to 62 bytes are remembered in
// pslMemo.
func registrable(d string) int {
	h := maphash.String(pslSeed, d)
	if r, ok := pslMemo.get(h, d); ok {
		return r
	}
	r := -1
	if suffix, _ := publicsuffix.PublicSuffix(d); len(suffix) < len(d) {
		r = strings.LastIndexByte(d[:len(d)-len(suffix)-1], '.') + 1
	}
	pslMemo.put(h, d, r)
	return r
}

var pslSeed = maphash.MakeSeed()

// pslMemo is a fixed-size, 4-way set-associative memo of registrable,
// of 1,024 domains: small enough to stay in a core's cache for the domains
// that recur, which are the ones worth remembering.
// Keys are copied into the entries, so a put allocates nothing and keeps
// none of the caller's strings alive; a full set loses a pseudo-random
// entry, so the memo degrades gradually when the domains outnumber it. A
// set keeps its lock and its entries' tags in one cache line, and a
// lookup reads only the entry whose tag fits.
var pslMemo = new(memo)

const (
	memoSetBits = 8
	memoWays    = 4
	memoKey     = 62
)

type memo struct {
	sets [1 << memoSetBits]memoSet
}

type memoSet struct {
	mu   gosync.Mutex
	tick uint32
	tags [memoWays]uint32 // 0 for an empty entry
	e    [memoWays]memoEntry
}

type memoEntry struct {
	n   uint8
	r   int8
	key [memoKey]byte
}

func (m *memo) set(h uint64) (*memoSet, uint32) {
	return &m.sets[h>>(64-memoSetBits)], uint32(h) | 1
}

func (m *memo) get(h uint64, d string) (int, bool) {
	if len(d) > memoKey {
		return 0, false
	}
	s, tag := m.set(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.tags {
		if e := &s.e[i]; t == tag && int(e.n) == len(d) && string(e.key[:e.n]) == d {
			return int(e.r), true
		}
	}
	return 0, false
}

func (m *memo) put(h uint64, d string, r int) {
	if len(d) > memoKey {
		return
	}
	s, tag := m.set(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := -1
	for i, t := range s.tags {
		if t == 0 {
			w = i
			break
		}
	}
	if w < 0 {
		s.tick = s.tick*1664525 + 1013904223
		w = int(s.tick >> 30)
	}
	s.tags[w] = tag
	e := &s.e[w]
	e.n, e.r = uint8(len(d)), int8(r)
	copy(e.key[:], d)
}
