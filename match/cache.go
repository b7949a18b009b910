package match

import (
	"hash/maphash"
	"math/bits"
	gosync "sync"
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
// bit in its set's seen, 64 bits of address hashes in the set's own cache
// line (which get has just read). Most addresses a mailbox sees once
// never come back, and writing their answers would cost a cache line or
// three each and push out answers that are asked again. A set's seen is
// cleared when a quarter of its bits are set, so the sightings it
// remembers are recent.
type outcomeCache struct {
	seed    maphash.Seed
	sets    []cacheSet
	entries []cacheEntry // cacheWays per set
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
)

type cacheSet struct {
	mu   gosync.Mutex
	tick uint32
	// tags are the hashes' low bits of the entries, 0 for an empty one.
	tags [cacheWays]uint16
	// stamps are the entries' stamps' low bits (see stamp.short): put
	// tells a stale entry from a current one without reading it.
	stamps [cacheWays]uint16
	// seen holds a bit of each address sighted here lately (see put).
	seen uint64
	e    *[cacheWays]cacheEntry
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

// short is 16 bits of st, for a set's line. Two stamps in a row differ
// in them (one of version or rules grows by one); stamps far apart may
// not, which only keeps put from replacing a stale answer at once (get
// compares the whole stamp).
func (st stamp) short() uint16 { return uint16(st.version + st.rules<<8) }

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
}

// hash returns the hash get and put take for addr: computed once a match.
func (c *outcomeCache) hash(addr string) uint64 {
	if len(addr) > cacheKey || c.sets == nil {
		return 0 // not cached
	}
	return maphash.String(c.seed, addr)
}

// set returns h's set, its tag there and its bit in the set's seen.
func (c *outcomeCache) set(h uint64) (*cacheSet, uint16, uint64) {
	return &c.sets[h>>(64-cacheSetBits)], uint16(h) | 1, 1 << (h >> 32 % 64)
}

// sighted marks a sighting of the address with the seen bit b and reports
// whether it had been sighted before. s is locked.
func (s *cacheSet) sighted(b uint64) bool {
	if s.seen&b != 0 {
		return true
	}
	if bits.OnesCount64(s.seen) >= 16 {
		s.seen = 0
	}
	s.seen |= b
	return false
}

// get copies the answer cached for addr, of hash h, under st into a.
func (c *outcomeCache) get(st stamp, h uint64, addr string, a *answer) bool {
	if len(addr) > cacheKey || c.sets == nil {
		return false
	}
	s, tag, _ := c.set(h)
	s.mu.Lock()
	short := st.short()
	for i, t := range s.tags {
		if t != tag || s.stamps[i] != short {
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

// put caches the answer for addr, of hash h, under st: p's normalised
// address and role, and o. The answer is made only once it is known to go
// in (most do not).
func (c *outcomeCache) put(st stamp, h uint64, addr string, p *Participant, o *outcome) {
	if len(addr) > cacheKey || c.sets == nil {
		return
	}
	s, tag, b := c.set(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sighted(b) {
		return
	}
	w := -1
	for i, t := range s.tags {
		if t == 0 || t == tag && int(s.e[i].n) == len(addr) && string(s.e[i].key[:len(addr)]) == addr {
			w = i // free, or this address's (under another stamp)
			break
		}
	}
	short := st.short()
	if w < 0 {
		// An LCG's high bits: the way from the top three, whether to
		// replace a current answer from the ones below. The set's line
		// says whether the way drawn is current: no entry is read.
		s.tick = s.tick*1664525 + 1013904223
		w = int(s.tick >> (32 - 3))
		if s.tick>>(32-3-cacheReplaceBits)&(cacheReplace-1) != 0 && s.stamps[w] == short {
			return
		}
	}
	s.tags[w], s.stamps[w] = tag, short
	e := &s.e[w]
	e.n, e.stamp = uint8(len(addr)), st
	e.a = answer{role: p.RoleAddress, o: *o}
	if p.Normalized != p.Address {
		// The matcher's own string (ParseAddress made it), so the cache
		// keeps nothing of the caller's.
		e.a.normalized = p.Normalized
	}
	copy(e.key[:], addr)
}
