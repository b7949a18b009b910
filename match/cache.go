package match

import (
	"hash/maphash"
	gosync "sync"
)

// outcomeCache remembers what the rules decided for an address while the
// directory's version and the overrides stay (see vendors.Versioned),
// because addresses repeat in mail. An answer is stamped with both, and
// a stamp that is not the current one is a miss, and free for a new one.
//
// It is set-associative: an address hashes to one set of cacheWays
// entries, and a full set gives up a pseudo-random entry. So the cache
// never starts afresh: when the addresses outnumber it, the share of
// answers it still has falls gradually (a cache that is reset when full
// answers nothing from a working set one larger than itself, and an LRU
// one nothing from a cycle through one). Keys are copied into the
// entries: putting an answer allocates nothing and keeps none of the
// caller's strings alive; addresses longer than cacheKey bytes are not
// cached. Each set has its own lock, so goroutines rarely wait.
type outcomeCache struct {
	seed maphash.Seed
	sets []cacheSet
}

const (
	cacheSets = 1 << 13
	cacheWays = 8
	// cacheSize is how many addresses the cache holds.
	cacheSize = cacheSets * cacheWays
	cacheKey  = 56
)

type cacheSet struct {
	mu   gosync.Mutex
	tick uint32
	e    [cacheWays]cacheEntry
}

type cacheEntry struct {
	tag   uint32
	n     uint8 // key length; 0 for an empty entry
	key   [cacheKey]byte
	stamp stamp
	o     outcome
}

// stamp says which directory version and which overrides an answer holds for.
type stamp struct {
	version, rules uint64
}

func (c *outcomeCache) init() {
	c.seed = maphash.MakeSeed()
	c.sets = make([]cacheSet, cacheSets)
}

// get copies the outcome cached for addr at version into o.
func (c *outcomeCache) get(st stamp, addr string, o *outcome) bool {
	if len(addr) > cacheKey || c.sets == nil {
		return false
	}
	h := maphash.String(c.seed, addr)
	s := &c.sets[h>>(64-13)]
	s.mu.Lock()
	for i := range s.e {
		e := &s.e[i]
		if e.tag == uint32(h) && int(e.n) == len(addr) && e.stamp == st && string(e.key[:e.n]) == addr {
			*o = e.o
			s.mu.Unlock()
			return true
		}
	}
	s.mu.Unlock()
	return false
}

func (c *outcomeCache) put(st stamp, addr string, o *outcome) {
	if len(addr) > cacheKey || len(addr) == 0 || c.sets == nil {
		return
	}
	h := maphash.String(c.seed, addr)
	s := &c.sets[h>>(64-13)]
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *cacheEntry
	for i := range s.e {
		f := &s.e[i]
		if f.n == 0 || f.stamp != st || f.tag == uint32(h) && int(f.n) == len(addr) && string(f.key[:f.n]) == addr {
			// Free, stale, or this address's.
			e = f
			break
		}
	}
	if e == nil {
		s.tick = s.tick*1664525 + 1013904223
		e = &s.e[s.tick>>29]
	}
	e.tag, e.n, e.stamp, e.o = uint32(h), uint8(len(addr)), st, *o
	copy(e.key[:], addr)
}
