package match

import (
	"hash/maphash"
	gosync "sync"
	"sync/atomic"
	"unsafe"
)

// outcomeCache remembers what the rules decided for an address, keyed by
// the address as the caller wrote it, while the directory's version and
// the overrides stay (see vendors.Versioned): addresses repeat in mail,
// and a repeated one is then neither parsed nor looked up. An answer is
// stamped with the version and the overrides, and one whose stamp is not
// the current one is a miss.
//
// It is set-associative: an address hashes to one set of cacheWays
// entries. A new answer takes a free entry; in a full set it takes a
// pseudo-random one, at once if that one's stamp is not the current one
// but otherwise only one time in cacheReplace. So the cache never starts
// afresh: when the addresses outnumber it, the share of answers it still
// has falls gradually (a cache that is reset when full answers nothing
// from a working set one larger than itself, and an LRU one nothing from
// a cycle through one). Replacing seldom keeps most of what it has: of a
// cycle through twice its size it answers close to half (replacing at
// every miss, a fifth), and the misses that replace nothing write
// nothing. Keys are copied into the
// entries: putting an answer allocates nothing and keeps none of the
// caller's strings alive; addresses longer than cacheKey bytes are not
// cached. Each set has its own lock, so goroutines rarely wait, and keeps
// it with its entries' tags in one cache line, apart from the entries: a
// lookup reads that line (the sets' 512 KB of them stay in the CPU's
// caches more than the entries' 11 MB) and then only the entry it finds.
//
// An address is admitted on its second sighting only: the first sets its
// bit in seen, a bitset of address hashes. Most addresses a mailbox sees
// once never come back, and writing their answers would cost a cache
// line or three each and push out answers that are asked again. The
// bitset is cleared when a quarter of its bits are set, so the sightings
// it remembers are recent.
type outcomeCache struct {
	seed    maphash.Seed
	sets    []cacheSet
	entries []cacheEntry // cacheWays per set
	seen    []atomic.Uint64
	marks   atomic.Int64
}

const (
	cacheSetBits = 13
	cacheWays    = 8
	// cacheSize is how many addresses the cache holds.
	cacheSize = 1 << cacheSetBits * cacheWays
	// cacheReplace is how many answers, on average, are turned away from a
	// set full of current ones for one that gets in.
	cacheReplaceBits = 3
	cacheReplace     = 1 << cacheReplaceBits
	cacheKey         = 56
	seenBits         = 1 << 20
)

type cacheSet struct {
	mu   gosync.Mutex
	tick uint32
	// tags are the hashes' low bits of the entries, 0 for an empty one.
	tags [cacheWays]uint32
	e    *[cacheWays]cacheEntry
	_    [8]byte
}

// A set is one cache line (a big slice of them starts at a page).
var _ [64 - unsafe.Sizeof(cacheSet{})]byte
var _ [unsafe.Sizeof(cacheSet{}) - 64]byte

type cacheEntry struct {
	n     uint8 // key length
	key   [cacheKey]byte
	stamp stamp
	a     answer
}

// stamp says which directory version and which overrides an answer holds for.
type stamp struct {
	version, rules uint64
}

// answer is what the cache holds for an address: its normalised form ("" when
// it is the address itself), whether it is a role address, the outcome.
type answer struct {
	normalized string
	role       bool
	o          outcome
}

func (c *outcomeCache) init() {
	c.seed = maphash.MakeSeed()
	c.sets = make([]cacheSet, 1<<cacheSetBits)
	c.entries = make([]cacheEntry, cacheSize)
	for i := range c.sets {
		c.sets[i].e = (*[cacheWays]cacheEntry)(c.entries[i*cacheWays:])
	}
	c.seen = make([]atomic.Uint64, seenBits/64)
}

// hash returns the hash get and put take for addr: computed once a match.
func (c *outcomeCache) hash(addr string) uint64 {
	if len(addr) > cacheKey || c.sets == nil {
		return 0 // not cached
	}
	return maphash.String(c.seed, addr)
}

// set returns h's set, its tag there and its bit in seen.
func (c *outcomeCache) set(h uint64) (*cacheSet, uint32, uint64) {
	return &c.sets[h>>(64-cacheSetBits)], uint32(h) | 1, h >> 32 % seenBits
}

// sighted marks a sighting of the address with the seen bit b and reports
// whether it had been sighted before.
func (c *outcomeCache) sighted(b uint64) bool {
	w, bit := &c.seen[b/64], uint64(1)<<(b%64)
	if w.Load()&bit != 0 {
		return true
	}
	w.Or(bit)
	if c.marks.Add(1) >= seenBits/4 {
		c.marks.Store(0)
		for i := range c.seen {
			c.seen[i].Store(0)
		}
	}
	return false
}

// get copies the answer cached for addr, of hash h, under st into a.
func (c *outcomeCache) get(st stamp, h uint64, addr string, a *answer) bool {
	if len(addr) > cacheKey || c.sets == nil {
		return false
	}
	s, tag, _ := c.set(h)
	s.mu.Lock()
	for i, t := range s.tags {
		if t != tag {
			continue
		}
		if e := &s.e[i]; e.stamp == st && int(e.n) == len(addr) && string(e.key[:e.n]) == addr {
			*a = e.a
			s.mu.Unlock()
			return true
		}
	}
	s.mu.Unlock()
	return false
}

// put caches a as the answer for addr, of hash h, under st.
func (c *outcomeCache) put(st stamp, h uint64, addr string, a *answer) {
	if len(addr) > cacheKey || c.sets == nil {
		return
	}
	s, tag, b := c.set(h)
	if !c.sighted(b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := -1
	for i, t := range s.tags {
		if t == 0 || t == tag && int(s.e[i].n) == len(addr) && string(s.e[i].key[:len(addr)]) == addr {
			w = i // free, or this address's (under another stamp)
			break
		}
	}
	if w < 0 {
		// An LCG's high bits: the way from the top three, whether to
		// replace a current answer from the ones below. Only the way
		// drawn is read, not every entry's stamp: that would cost a
		// cache line each.
		s.tick = s.tick*1664525 + 1013904223
		w = int(s.tick >> (32 - 3))
		if s.tick>>(32-3-cacheReplaceBits)&(cacheReplace-1) != 0 && s.e[w].stamp == st {
			return
		}
	}
	s.tags[w] = tag
	e := &s.e[w]
	e.n, e.stamp, e.a = uint8(len(addr)), st, *a
	copy(e.key[:], addr)
}
