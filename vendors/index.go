package vendors

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	gosync "sync"
	"sync/atomic"
	"unsafe"
)

// Index is an in-memory [Directory] compact enough for millions of vendors:
// about 290 bytes each with three domains and five contacts, where a
// map[string]*Vendor of the same takes several times that.
//
// Readers never wait: [Index.Lookup] and [Index.Vendor] take no lock and
// may run while [Index.Put] and [Index.Remove] change the index. A reader
// sees every vendor either as it was before a change or as it is after it,
// key by key: a domain that a changed vendor keeps is never missing, and
// never answered twice, in between. Writers take turns on a mutex; a
// write is fast, except that now and then one grows the table or
// compacts the arena, which takes time in proportion to the index (about
// a second per million vendors) while readers carry on.
//
// Each vendor is one block of bytes in an arena of chunks: its ID, name,
// tracked flag, normalised domains and contacts (a contact at one of the
// vendor's own domains stores only its local part). One open-addressing
// table of 8-byte entries (a 24-bit hash tag, where the record's block
// starts, and a 32-bit arena position) maps IDs, domains and contacts to
// those bytes; it is two-thirds full when built or compacted, and between
// three-fifths and four-fifths as Put grows it. Blocks are never changed
// once written: a change writes a new block and points the table at it,
// and the old one is garbage until the arena is compacted, which happens
// by itself when the garbage outweighs the live vendors.
type Index struct {
	seed    maphash.Seed
	state   atomic.Pointer[state]
	count   atomic.Int64
	version atomic.Uint64

	mu gosync.Mutex // serialises writers; guards the fields below
	ar arena
	// used counts live table entries, dead deleted ones (tombstones).
	used, dead int
	// live and garbage count arena bytes in current and in replaced blocks.
	live, garbage int
	scratch       []byte
}

// state is what readers load: a table and the chunks it points into. A
// writer changes both in place (entries atomically, chunks by appending
// bytes no reader can reach yet) and replaces state as a whole when it
// grows the table or compacts.
type state struct {
	table []atomic.Uint64
	dir   *chunkDir
}

const (
	chunkBits = 20
	// MaxVendorBytes bounds one vendor's encoded ID, name, domains and
	// contacts in an [Index]: 1 MiB, about 30,000 contacts.
	MaxVendorBytes = 1 << chunkBits
	maxChunks      = 1 << (32 - chunkBits)
	firstChunk     = 4 << 10
	// An entry is tag<<40 | back<<32 | loc (see entry); loc is
	// chunk<<chunkBits | offset. Locs 0
	// and 1 are never written (chunk 0 starts at offset 2), so entry 0 is
	// an empty slot and entry 1 a deleted one.
	tombstone = 1
)

// chunkDir holds the arena's chunks. A chunk that grows is copied and its
// pointer replaced; readers holding the old copy read the same bytes.
type chunkDir [maxChunks]atomic.Pointer[[]byte]

// Record kinds, the first byte of a record. A block is
//
//	ID record: [recID or recIDTracked][len][0][id]
//	[uvarint len(name)][name][uvarint domains][uvarint contacts]
//	domains:  [recDomain][len][uvarint back][domain]
//	contacts: [recContact][len][uvarint back][address]
//	       or [recLocal][len(local)][uvarint back][domain number][local]
//
// where back is the record's distance from the block's start: a table
// entry points at a record, and the vendor's ID is found from there.
const (
	recID = 1 + iota
	recIDTracked
	recDomain
	recContact
	recLocal
)

// compactMin is the garbage below which the arena is never compacted.
// Tests lower it.
var compactMin = 1 << 20

func newIndex() *Index {
	x := &Index{seed: maphash.MakeSeed()}
	x.ar.init(0)
	x.state.Store(&state{table: newTable(16), dir: x.ar.dir})
	return x
}

// NewIndex builds an index of vs. Vendor IDs must be unique.
func NewIndex(vs []Vendor) (*Index, error) {
	x := newIndex()
	ns := make([]Vendor, len(vs))
	keys, size := 0, 0
	for i, v := range vs {
		n, err := normalize(v)
		if err != nil {
			return nil, err
		}
		ns[i] = n
		keys += 1 + len(n.Domains) + len(n.Contacts)
		x.scratch, _ = encode(x.scratch[:0], n)
		size += len(x.scratch)
	}
	x.ar.init(size)
	x.state.Store(&state{table: newTable(tableSize(keys, 3, 2)), dir: x.ar.dir})
	for _, n := range ns {
		if _, ok := x.findID(x.state.Load(), n.ID); ok {
			return nil, fmt.Errorf("%w: duplicate vendor ID %q", ErrInvalid, n.ID)
		}
		if err := x.put(n); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// tableSize returns a table size for keys entries at a load of den/num.
// It is a whole number of buckets (see slot).
func tableSize(keys, num, den int) int { return max(16, keys*num/den+1+bucket-1) &^ (bucket - 1) }

// bucket is how many entries fill one 64-byte cache line.
const bucket = 8

// newTable returns a table of n entries (a multiple of bucket) that starts
// at a cache line, so each bucket is one line.
func newTable(n int) []atomic.Uint64 {
	t := make([]atomic.Uint64, n+bucket-1)
	skip := int(-uintptr(unsafe.Pointer(&t[0])) / 8 % bucket)
	return t[skip : skip+n : skip+n]
}

// Len returns the number of vendors.
func (x *Index) Len() int { return int(x.count.Load()) }

// Put adds v, or replaces the vendor with its ID. Domains and contacts are
// normalised ([NormalizeDomain], [NormalizeAddress]) and deduplicated; a
// vendor with none is fine (it can still be pinned by an override).
func (x *Index) Put(v Vendor) error {
	n, err := normalize(v)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.version.Add(1) // after the change: see Versioned
	return x.put(n)
}

// Remove deletes the vendor with the given ID and reports whether there was one.
func (x *Index) Remove(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	st := x.state.Load()
	loc, ok := x.findID(st, id)
	if !ok {
		return false
	}
	defer x.version.Add(1)
	recs, size := x.records(st, loc, nil)
	for _, r := range recs {
		st.table[x.find(st, r.h, r.loc)].Store(tombstone)
	}
	x.used -= len(recs)
	x.dead += len(recs)
	x.live -= size
	x.garbage += size
	x.count.Add(-1)
	x.maybeCompact()
	return true
}

// Version implements [Versioned]: it grows with every Put and Remove.
func (x *Index) Version() uint64 { return x.version.Load() }

// Vendor returns the vendor with the given ID, its domains and contacts
// normalised, and reports whether there is one.
func (x *Index) Vendor(id string) (Vendor, bool) {
	st := x.state.Load()
	h := hashKey(x.seed, KeyID, id)
	for i := slot(h, len(st.table)); ; i = next(i, len(st.table)) {
		e := st.table[i].Load()
		if e == 0 {
			return Vendor{}, false
		}
		if !tagged(e, h) {
			continue
		}
		c, off := st.chunk(uint32(e))
		if start, ok := matchRecord(c, off, KeyID, id); ok {
			return decode(c, start), true
		}
	}
}

// Lookup implements [Directory]. It never fails and never blocks; ctx is
// not consulted.
func (x *Index) Lookup(_ context.Context, dst []Hit, keys []Key) ([]Hit, error) {
	st := x.state.Load()
	n := len(st.table)
	// Keys go in groups, in passes: every key's first table entry is
	// loaded, then the first record whose tag matches together with its
	// block's start (where the entry says it is; for a record further
	// than that from its block's start, in a pass of its own), and only
	// then are the keys resolved, from cache. The
	// loads of one pass do not wait for each other, so a group's cache
	// misses overlap instead of adding up.
	const group = 32
	var hs, es [group]uint64
	var locs [group]uint32
	var backs [group]int
	var touched uint64 // a sum of the bytes loaded ahead: see its use below
	for base := 0; base < len(keys); base += group {
		g := keys[base:min(base+group, len(keys))]
		// Hashes first, then the loads in a loop of their own: hashing a
		// key takes more instructions than the CPU holds in flight while
		// a load waits, so loads between hashes would wait in turn.
		for j, key := range g {
			hs[j] = hashKey(x.seed, key.Kind, key.Value)
		}
		for j := range g {
			es[j] = st.table[slot(hs[j], n)].Load()
		}
		// The first tagged entry in each key's bucket, a line: a key whose
		// bucket is full without one is probed on after the records of the
		// others are on their way.
		var more uint32
		for j := range g {
			locs[j], backs[j] = 0, 0
			h, i := hs[j], slot(hs[j], n)
			for k, e := 0, es[j]; ; k, e = k+1, st.table[i+k+1].Load() {
				if e == 0 {
					break
				}
				if tagged(e, h) {
					locs[j], backs[j] = uint32(e), backHint(e)
					break
				}
				if k == bucket-1 {
					more |= 1 << j
					break
				}
			}
		}
		for j := range g {
			if locs[j] != 0 {
				touched += x.touch(st, locs[j], backs[j])
			}
		}
		for j := range g {
			if more&(1<<j) == 0 {
				continue
			}
			h := hs[j]
			for i := next(slot(h, n)+bucket-1, n); ; i = next(i, n) {
				e := st.table[i].Load()
				if e == 0 {
					break
				}
				if tagged(e, h) {
					locs[j], backs[j] = uint32(e), backHint(e)
					touched += x.touch(st, locs[j], backs[j])
					break
				}
			}
		}
		for j := range g {
			if locs[j] != 0 && backs[j] == 255 {
				c, off := st.chunk(locs[j])
				back, _ := uvarint(c[off+2:])
				touched += uint64(c[off-back])
			}
		}
		for j, key := range g {
			h := hs[j]
			e := es[j]
			for i := slot(h, n); e != 0; i, e = next(i, n), st.table[next(i, n)].Load() {
				if !tagged(e, h) {
					continue
				}
				c, off := st.chunk(uint32(e))
				if start, ok := matchRecord(c, off, key.Kind, key.Value); ok {
					id, name := idName(c, start)
					dst = append(dst, Hit{Key: base + j, VendorID: id, Name: name, Tracked: c[start] == recIDTracked})
				}
			}
		}
	}
	if touched > 1<<62 {
		// Never taken: each load adds at most 255, and a lookup would
		// need 2^54 of them. It keeps the compiler from dropping the
		// loads above.
		return dst, errUnreachable
	}
	return dst, nil
}

// Prefetch implements [Prefetcher]: it begins to load the table entries
// where key's probe starts.
func (x *Index) Prefetch(key Key) {
	st := x.state.Load()
	prefetch(&st.table[slot(hashKey(x.seed, key.Kind, key.Value), len(st.table))])
}

var _ Prefetcher = (*Index)(nil)

// touch loads the record at loc and, when back says where its block
// starts, the block up to it, for Lookup to resolve from cache: the ID and
// name, and for a contact stored as its local part, the domain record it
// names. It returns a sum of bytes loaded, for Lookup to keep the loads.
func (x *Index) touch(st *state, loc uint32, back int) uint64 {
	c, off := st.chunk(loc)
	t := uint64(c[off])
	for o := off - back; back < 255 && o < off; o += 64 {
		t += uint64(c[o])
	}
	return t
}

// idName returns the ID and name of the block at start as strings that
// share the arena's bytes. That is safe because a block is never written
// again once readers can reach it (a chunk that grows is copied, and
// compaction writes a new arena), and it keeps Lookup free of allocations,
// which a matcher of a million addresses a second needs. The price: a hit
// kept after its vendor changed, or after a compaction, keeps the chunk
// it points into (at most MaxVendorBytes) from being collected.
func idName(c []byte, start int) (id, name string) {
	idLen := int(c[start+1])
	id = unsafe.String(&c[start+3], idLen)
	o := start + 3 + idLen
	n, w := uvarint(c[o:])
	if n > 0 {
		name = unsafe.String(&c[o+w], n)
	}
	return id, name
}

var _ Versioned = (*Index)(nil)

var errUnreachable = errors.New("vendors: corrupt index")

var _ Directory = (*Index)(nil)

func (st *state) chunk(loc uint32) ([]byte, int) {
	return *st.dir[loc>>chunkBits].Load(), int(loc & (MaxVendorBytes - 1))
}

func hashKey(seed maphash.Seed, kind KeyKind, key string) uint64 {
	// One maphash call per key; the kind is mixed in afterwards.
	return maphash.String(seed, key) ^ uint64(kind)*0x9E3779B97F4A7C15
}

// hashBytes equals hashKey of the same bytes (maphash hashes bytes and
// strings alike), without converting them.
func hashBytes(seed maphash.Seed, kind KeyKind, key []byte) uint64 {
	return maphash.Bytes(seed, key) ^ uint64(kind)*0x9E3779B97F4A7C15
}

// slot maps a hash onto a table of any size (multiply-shift), so tables
// need not be powers of two and no memory goes to rounding up.
//
// A key's probe starts at the first entry of its bucket, a cache line, so
// a lookup reads one line unless that bucket and the ones it overflowed
// into are full: a key that is absent costs a line, not the line it lands
// in and the next.
func slot(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n/bucket))
	return int(hi) * bucket
}

func next(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}

func uvarint(b []byte) (int, int) {
	if b[0] < 0x80 {
		return int(b[0]), 1
	}
	v, w := binary.Uvarint(b)
	return int(v), w
}

// matchRecord reports whether the record at off in c is key, and returns
// the start of its block.
func matchRecord(c []byte, off int, kind KeyKind, key string) (int, bool) {
	rk, n := c[off], int(c[off+1])
	back, w := uvarint(c[off+2:])
	p := off + 2 + w
	switch {
	case kind == KeyID && (rk == recID || rk == recIDTracked),
		kind == KeyDomain && rk == recDomain,
		kind == KeyContact && rk == recContact:
		return off - back, string(c[p:p+n]) == key
	case kind == KeyContact && rk == recLocal:
		if len(key) <= n || key[n] != '@' || string(c[p+1:p+1+n]) != key[:n] {
			return 0, false
		}
		return off - back, string(blockDomain(c, off-back, int(c[p]))) == key[n+1:]
	}
	return 0, false
}

// header skips a block's ID record, name and counts, returning the offset
// of its first domain record and the numbers of domains and contacts.
func header(c []byte, start int) (o, domains, contacts int) {
	o = start + 3 + int(c[start+1])
	n, w := uvarint(c[o:])
	o += w + n
	domains, w = uvarint(c[o:])
	o += w
	contacts, w = uvarint(c[o:])
	return o + w, domains, contacts
}

// blockDomain returns the k-th domain of the block at start.
func blockDomain(c []byte, start, k int) []byte {
	o, _, _ := header(c, start)
	for ; ; k-- {
		n := int(c[o+1])
		_, w := uvarint(c[o+2:])
		p := o + 2 + w
		if k == 0 {
			return c[p : p+n]
		}
		o = p + n
	}
}

// walk calls fn for every keyed record of the block at start (its ID,
// domains and contacts) with the record's offset, its key kind and its key
// (a recLocal contact in full, built in buf), and returns the block's end.
func walk(c []byte, start int, buf []byte, fn func(off int, kind KeyKind, key []byte)) int {
	fn(start, KeyID, c[start+3:start+3+int(c[start+1])])
	o, nd, nc := header(c, start)
	domainsAt := o
	for range nd + nc {
		rk, n := c[o], int(c[o+1])
		_, w := uvarint(c[o+2:])
		p := o + 2 + w
		switch rk {
		case recDomain:
			fn(o, KeyDomain, c[p:p+n])
		case recContact:
			fn(o, KeyContact, c[p:p+n])
		case recLocal:
			k := int(c[p])
			d := blockDomainFrom(c, domainsAt, k)
			buf = append(append(append(buf[:0], c[p+1:p+1+n]...), '@'), d...)
			fn(o, KeyContact, buf)
			p++
		}
		o = p + n
	}
	return o
}

func blockDomainFrom(c []byte, o, k int) []byte {
	for ; ; k-- {
		n := int(c[o+1])
		_, w := uvarint(c[o+2:])
		p := o + 2 + w
		if k == 0 {
			return c[p : p+n]
		}
		o = p + n
	}
}

func decode(c []byte, start int) Vendor {
	v := Vendor{Tracked: c[start] == recIDTracked}
	o := start + 3 + int(c[start+1])
	n, w := uvarint(c[o:])
	v.Name = string(c[o+w : o+w+n])
	walk(c, start, nil, func(_ int, kind KeyKind, key []byte) {
		switch kind {
		case KeyID:
			v.ID = string(key)
		case KeyDomain:
			v.Domains = append(v.Domains, string(key))
		case KeyContact:
			v.Contacts = append(v.Contacts, string(key))
		}
	})
	return v
}

// normalize validates v and returns it with domains and contacts
// normalised and deduplicated.
func normalize(v Vendor) (Vendor, error) {
	if v.ID == "" || len(v.ID) > 255 {
		return Vendor{}, fmt.Errorf("%w: ID %q must be 1 to 255 bytes", ErrInvalid, v.ID)
	}
	out := Vendor{ID: v.ID, Name: v.Name, Tracked: v.Tracked,
		Domains: make([]string, 0, len(v.Domains)), Contacts: make([]string, 0, len(v.Contacts))}
	for _, d := range v.Domains {
		n, ok := NormalizeDomain(d)
		if !ok {
			return Vendor{}, fmt.Errorf("%w: vendor %q: %q is not a domain", ErrInvalid, v.ID, d)
		}
		out.Domains = append(out.Domains, n)
	}
	for _, c := range v.Contacts {
		n, ok := NormalizeAddress(c)
		if !ok {
			return Vendor{}, fmt.Errorf("%w: vendor %q: %q is not an e-mail address", ErrInvalid, v.ID, c)
		}
		out.Contacts = append(out.Contacts, n)
	}
	out.Domains, out.Contacts = dedupe(out.Domains), dedupe(out.Contacts)
	return out, nil
}

// dedupe removes repeated strings, keeping the first of each.
func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	if len(s) <= 16 {
		out := s[:1]
		for _, v := range s[1:] {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	seen := make(map[string]struct{}, len(s))
	out := s[:0]
	for _, v := range s {
		if _, ok := seen[v]; !ok {
			seen[v] = struct{}{}
			out = append(out, v)
		}
	}
	return out
}

// encode appends v's block to b. It reports false when the block exceeds
// MaxVendorBytes.
func encode(b []byte, v Vendor) ([]byte, bool) {
	start := len(b)
	kind := byte(recID)
	if v.Tracked {
		kind = recIDTracked
	}
	b = append(b, kind, byte(len(v.ID)), 0)
	b = append(b, v.ID...)
	b = binary.AppendUvarint(b, uint64(len(v.Name)))
	b = append(b, v.Name...)
	b = binary.AppendUvarint(b, uint64(len(v.Domains)))
	b = binary.AppendUvarint(b, uint64(len(v.Contacts)))
	for _, d := range v.Domains {
		b = binary.AppendUvarint(append(b, recDomain, byte(len(d))), uint64(len(b)-start))
		b = append(b, d...)
	}
	for _, c := range v.Contacts {
		at := len(c) - 1
		for c[at] != '@' {
			at--
		}
		if k := slices.Index(v.Domains, c[at+1:]); k >= 0 && k < 256 {
			b = binary.AppendUvarint(append(b, recLocal, byte(at)), uint64(len(b)-start))
			b = append(append(b, byte(k)), c[:at]...)
		} else {
			b = binary.AppendUvarint(append(b, recContact, byte(len(c))), uint64(len(b)-start))
			b = append(b, c...)
		}
	}
	return b, len(b)-start <= MaxVendorBytes
}

// rec is a keyed record of a block, as writers handle it.
type rec struct {
	kind KeyKind
	key  string
	loc  uint32
	h    uint64
}

// records returns the keyed records of the block at loc and its size.
func (x *Index) records(st *state, loc uint32, dst []rec) ([]rec, int) {
	c, start := st.chunk(loc)
	base := loc - uint32(start)
	end := walk(c, start, nil, func(off int, kind KeyKind, key []byte) {
		dst = append(dst, rec{kind: kind, key: string(key), loc: base + uint32(off), h: hashKey(x.seed, kind, string(key))})
	})
	return dst, end - start
}

// findID returns the loc of the vendor's ID record.
func (x *Index) findID(st *state, id string) (uint32, bool) {
	h := hashKey(x.seed, KeyID, id)
	for i := slot(h, len(st.table)); ; i = next(i, len(st.table)) {
		e := st.table[i].Load()
		if e == 0 {
			return 0, false
		}
		if !tagged(e, h) {
			continue
		}
		if c, off := st.chunk(uint32(e)); c[off] == recID || c[off] == recIDTracked {
			if _, ok := matchRecord(c, off, KeyID, id); ok {
				return uint32(e), true
			}
		}
	}
}

// find returns the table slot that points at loc.
func (x *Index) find(st *state, h uint64, loc uint32) int {
	for i := slot(h, len(st.table)); ; i = next(i, len(st.table)) {
		if e := st.table[i].Load(); uint32(e) == loc && e != tombstone {
			return i
		}
	}
}

// insert stores an entry in the first free slot of h's probe sequence and
// reports whether that slot held a tombstone.
// entry returns the table entry for a record at loc, back bytes after its
// block's start, of a key of hash h. Its top 24 bits are a tag of h (the
// slot takes h's top bits, the tag its low ones), so a probe reads a
// record only for a key that is likely the one asked; the next 8 are back
// when it is under 255 (255 when it is not), so that a lookup can load
// the record and its block's start, where the vendor's ID and name are,
// at the same time instead of one after the other; the low 32 are loc.
func entry(h uint64, loc uint32, back int) uint64 {
	return (h&tagMask)<<40 | uint64(min(back, 255))<<32 | uint64(loc)
}

const tagMask = 1<<24 - 1

// tagged reports whether e is a record's entry whose tag is h's.
func tagged(e, h uint64) bool { return e>>40 == h&tagMask && e != tombstone }

// backHint returns e's record's distance from its block's start, or 255
// when it is 255 or more.
func backHint(e uint64) int { return int(e >> 32 & 0xff) }

func insert(t []atomic.Uint64, h uint64, loc uint32, back int) bool {
	for i := slot(h, len(t)); ; i = next(i, len(t)) {
		if e := t[i].Load(); e == 0 || e == tombstone {
			t[i].Store(entry(h, loc, back))
			return e == tombstone
		}
	}
}

type recKey struct {
	kind KeyKind
	key  string
}

// put adds or replaces the normalised vendor v; x.mu is held.
func (x *Index) put(v Vendor) error {
	var ok bool
	if x.scratch, ok = encode(x.scratch[:0], v); !ok {
		return fmt.Errorf("%w: vendor %q has over %d bytes of domains and contacts", ErrInvalid, v.ID, MaxVendorBytes)
	}
	block := x.scratch
	st := x.state.Load()
	oldLoc, replace := x.findID(st, v.ID)
	var old map[recKey]rec
	oldSize := 0
	if replace {
		var recs []rec
		recs, oldSize = x.records(st, oldLoc, nil)
		old = make(map[recKey]rec, len(recs))
		for _, r := range recs {
			old[recKey{r.kind, r.key}] = r
		}
	}
	keys := 1 + len(v.Domains) + len(v.Contacts)
	added := keys
	if replace {
		added = 0
		for _, r := range x.newRecords(v) {
			if _, ok := old[r]; !ok {
				added++
			}
		}
	}
	if (x.used+x.dead+added)*5 > len(st.table)*4 {
		st = x.rehash(st, tableSize(x.used+added, 5, 3))
	}
	loc, err := x.ar.alloc(len(block))
	if err != nil {
		return err
	}
	blockOff := int(loc & (MaxVendorBytes - 1))
	copy(x.ar.buf[blockOff:], block)
	// The block is in place before any entry points at it. Keys the vendor
	// keeps are repointed in place, so readers never miss them.
	base := loc - uint32(blockOff)
	var buf [2 * maxAddress]byte
	walk(x.ar.buf, blockOff, buf[:0], func(off int, kind KeyKind, key []byte) {
		at := base + uint32(off)
		if r, ok := old[recKey{kind, string(key)}]; ok {
			st.table[x.find(st, r.h, r.loc)].Store(entry(r.h, at, off-blockOff))
			delete(old, recKey{kind, string(key)})
			return
		}
		if insert(st.table, hashBytes(x.seed, kind, key), at, off-blockOff) {
			x.dead--
		}
		x.used++
	})
	for _, r := range old {
		st.table[x.find(st, r.h, r.loc)].Store(tombstone)
		x.used--
		x.dead++
	}
	x.live += len(block)
	if replace {
		x.live -= oldSize
		x.garbage += oldSize
		x.maybeCompact()
	} else {
		x.count.Add(1)
	}
	return nil
}

func (x *Index) newRecords(v Vendor) []recKey {
	out := make([]recKey, 0, 1+len(v.Domains)+len(v.Contacts))
	out = append(out, recKey{KeyID, v.ID})
	for _, d := range v.Domains {
		out = append(out, recKey{KeyDomain, d})
	}
	for _, c := range v.Contacts {
		out = append(out, recKey{KeyContact, c})
	}
	return out
}

// rehash publishes a table of the given size with every live entry of st.
func (x *Index) rehash(st *state, size int) *state {
	t := newTable(size)
	var buf [2 * maxAddress]byte
	for i := range st.table {
		e := st.table[i].Load()
		if e == 0 || e == tombstone {
			continue
		}
		loc := uint32(e)
		c, off := st.chunk(loc)
		kind, key := keyAt(c, off, buf[:0])
		insert(t, hashBytes(x.seed, kind, key), loc, backHint(e))
	}
	ns := &state{table: t, dir: st.dir}
	x.state.Store(ns)
	x.dead = 0
	return ns
}

// keyAt returns the kind and key of the record at off (a recLocal contact
// built in buf).
func keyAt(c []byte, off int, buf []byte) (KeyKind, []byte) {
	rk, n := c[off], int(c[off+1])
	back, w := uvarint(c[off+2:])
	p := off + 2 + w
	switch rk {
	case recID, recIDTracked:
		return KeyID, c[p : p+n]
	case recDomain:
		return KeyDomain, c[p : p+n]
	case recContact:
		return KeyContact, c[p : p+n]
	}
	d := blockDomain(c, off-back, int(c[p]))
	return KeyContact, append(append(append(buf[:0], c[p+1:p+1+n]...), '@'), d...)
}

// maybeCompact rewrites the arena without garbage once the garbage
// outweighs the live vendors, so the work is paid for by the writes that
// made the garbage.
func (x *Index) maybeCompact() {
	if x.garbage < compactMin || x.garbage < x.live {
		return
	}
	st := x.state.Load()
	var starts []uint32
	for i := range st.table {
		e := st.table[i].Load()
		if e == 0 || e == tombstone {
			continue
		}
		if c, off := st.chunk(uint32(e)); c[off] == recID || c[off] == recIDTracked {
			starts = append(starts, uint32(e))
		}
	}
	slices.Sort(starts) // keep the arena's order: neighbours stay neighbours
	var ar arena
	ar.init(x.live)
	t := newTable(tableSize(x.used, 3, 2))
	var buf [2 * maxAddress]byte
	for _, loc := range starts {
		c, start := st.chunk(loc)
		end := walk(c, start, nil, func(int, KeyKind, []byte) {})
		nl, err := ar.alloc(end - start)
		if err != nil {
			// The live data fitted before; it fits again.
			panic("vendors: compaction: " + err.Error())
		}
		noff := int(nl & (MaxVendorBytes - 1))
		copy(ar.buf[noff:], c[start:end])
		base := nl - uint32(noff)
		walk(ar.buf, noff, buf[:0], func(off int, kind KeyKind, key []byte) {
			insert(t, hashBytes(x.seed, kind, key), base+uint32(off), off-noff)
		})
	}
	x.ar = ar
	x.state.Store(&state{table: t, dir: ar.dir})
	x.dead, x.garbage = 0, 0
}

// arena hands out space in chunks for writers.
type arena struct {
	dir  *chunkDir
	cur  uint32
	buf  []byte
	fill int
	// hint is how many more bytes are expected (a bulk load): the next
	// chunk is sized for them instead of growing by doubling.
	hint int
}

func (a *arena) init(hint int) {
	a.dir = new(chunkDir)
	a.cur, a.fill, a.hint = 0, 2, hint
	a.buf = make([]byte, chunkFor(hint+2))
	a.publish()
}

// publish points readers at the current chunk, through a header of its
// own: a.buf itself changes as the arena grows.
func (a *arena) publish() {
	b := a.buf
	a.dir[a.cur].Store(&b)
}

func chunkFor(n int) int { return min(MaxVendorBytes, max(firstChunk, n)) }

// alloc reserves n bytes (n <= MaxVendorBytes) and returns their loc.
func (a *arena) alloc(n int) (uint32, error) {
	if a.fill+n > len(a.buf) {
		if a.fill+n <= MaxVendorBytes {
			// Grow the chunk: copy it, and point readers at the copy.
			b := make([]byte, min(MaxVendorBytes, max(2*len(a.buf), a.fill+n, a.fill+a.hint)))
			copy(b, a.buf[:a.fill])
			a.buf = b
		} else {
			if a.cur+1 == maxChunks {
				return 0, ErrFull
			}
			a.cur++
			a.fill = 0
			a.buf = make([]byte, chunkFor(max(n, a.hint)))
		}
		a.publish()
	}
	loc := a.cur<<chunkBits | uint32(a.fill)
	a.fill += n
	a.hint = max(0, a.hint-n)
	return loc, nil
}
