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

// pslMemo is a fixed-size, 4-way set-associative memo of registrable.
// Keys are copied into the entries, so a put allocates nothing and keeps
// none of the caller's strings alive; a full set loses a pseudo-random
// entry, so the memo degrades gradually when the domains outnumber it.
var pslMemo = new(memo)

const (
	memoShards = 64
	memoSets   = 64 // per shard
	memoWays   = 4
	memoKey    = 62
)

type memo struct {
	shards [memoShards]memoShard
}

type memoShard struct {
	mu   gosync.Mutex
	tick uint32
	sets [memoSets][memoWays]memoEntry
}

type memoEntry struct {
	tag uint32
	n   uint8 // key length; 0 for an empty entry
	r   int8
	key [memoKey]byte
}

func (m *memo) get(h uint64, d string) (int, bool) {
	if len(d) > memoKey {
		return 0, false
	}
	sh := &m.shards[h>>58]
	set := &sh.sets[h>>52&(memoSets-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := range set {
		e := &set[i]
		if e.tag == uint32(h) && int(e.n) == len(d) && string(e.key[:e.n]) == d {
			return int(e.r), true
		}
	}
	return 0, false
}

func (m *memo) put(h uint64, d string, r int) {
	if len(d) > memoKey || len(d) == 0 {
		return
	}
	sh := &m.shards[h>>58]
	set := &sh.sets[h>>52&(memoSets-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.tick = sh.tick*1664525 + 1013904223
	e := &set[sh.tick>>30]
	for i := range set {
		if set[i].n == 0 {
			e = &set[i]
			break
		}
	}
	e.tag, e.n, e.r = uint32(h), uint8(len(d)), int8(r)
	copy(e.key[:], d)
}
