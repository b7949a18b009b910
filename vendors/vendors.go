package vendors

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"

	"golang.org/x/net/idna"
)

// Vendor is a company the host tracks: its domains (subsidiaries, country
// domains) and known contact addresses (some on free-mail domains).
type Vendor struct {
	ID       string
	Name     string
	Domains  []string
	Contacts []string
	// Tracked says the admin wants this vendor's activity surfaced.
	Tracked bool
}

// Directory answers which vendors claim an address or a domain. The host
// implements it over its own database, or uses [Index]. Keys are
// normalised ([NormalizeAddress], [NormalizeDomain]). The Append methods
// add vendor IDs to dst and return it, so callers can reuse one slice;
// implementations must be safe for concurrent use.
type Directory interface {
	AppendByContact(ctx context.Context, dst []string, address string) ([]string, error)
	AppendByDomain(ctx context.Context, dst []string, domain string) ([]string, error)
	// Vendor returns a vendor by ID; ok is false when there is none.
	Vendor(ctx context.Context, id string) (v Vendor, ok bool, err error)
}

// NormalizeDomain returns a domain in the form lookups use: lower-case
// ASCII (IDNA, so "bücher.example" is "xn--bcher-kva.example"), without a
// trailing dot. It reports false for something that is not a domain.
func NormalizeDomain(d string) (string, bool) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" || strings.ContainsAny(d, " @/\\") {
		return "", false
	}
	ascii := true
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", false
		}
		d = a
	}
	return strings.ToLower(d), true
}

// NormalizeAddress returns an address in the form lookups use: the bare
// address (a display name and angle brackets removed), the local part
// lower-cased and without "+tag" (plus-addressing reaches the same person),
// the domain normalised. It reports false for something without one "@".
func NormalizeAddress(a string) (string, bool) {
	if plainAddress(a) {
		return a, true
	}
	a = strings.TrimSpace(a)
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		if j := strings.IndexByte(a[i:], '>'); j > 0 {
			a = a[i+1 : i+j]
		}
	}
	a = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(a)), "mailto:")
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return "", false
	}
	local, domain := a[:at], a[at+1:]
	if p := strings.IndexByte(local, '+'); p > 0 {
		local = local[:p]
	}
	d, ok := NormalizeDomain(domain)
	if !ok || strings.ContainsAny(local, " <>@") {
		return "", false
	}
	return local + "@" + d, true
}

// plainAddress reports whether a is already normalised: lower-case ASCII
// letters, digits and ".-_", one "@" with a non-empty local part and a
// domain with a dot, no "+" and no trailing dot. Most addresses are, and
// then normalising allocates nothing.
func plainAddress(a string) bool {
	at := -1
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		case c == '@' && at < 0:
			at = i
		default:
			return false
		}
	}
	return at > 0 && at < len(a)-1 && a[len(a)-1] != '.' && strings.IndexByte(a[at:], '.') > 0
}

// Index is an in-memory [Directory] compact enough for a million vendors:
// each vendor is one block of bytes in an arena (its ID, name, normalised
// domains and contacts), and one open-addressing table of 8-byte entries
// maps IDs, domains and contacts to vendors. It is safe for concurrent
// readers while it is updated; updates take a write lock briefly. Vendor
// returns the normalised domains and contacts. Replaced and removed
// vendors leave their bytes in the arena until [Index.Compact].
type Index struct {
	mu    gosync.RWMutex
	seed  maphash.Seed
	arena []byte
	table []entry // open addressing, linear probing, size not a power of two
	used  int     // live entries
	dead  int     // tombstones
	// blocks[n] is the arena offset of vendor n's block; 0 is unused.
	blocks []uint32
	free   []uint32
	count  int
	gen    atomic.Uint64
}

// Generation changes whenever a vendor is added, changed or removed, so
// callers can cache answers and know when to drop them.
func (x *Index) Generation() uint64 { return x.gen.Load() }

type entry struct {
	vendor uint32 // 0 = empty, tombstone = deleted
	off    uint32 // arena offset of the key (its length byte); top 4 bits a tag from the hash's low bits (the slot comes from its high bits)
}

const (
	tombstone = ^uint32(0)
	offMask   = 1<<28 - 1
	maxArena  = offMask
)

// Key kinds, the byte after a key's length in the arena.
const (
	kindID      = 'i'
	kindName    = 'n'
	kindTracked = 't'
	kindDomain  = 'd'
	kindContact = 'c'
	// kindLocal is a contact at one of the vendor's own domains, stored as
	// [len(local)]['l'][domain number][local]: most contacts are, and the
	// domain's bytes are then stored once.
	kindLocal = 'l'
)

// ErrInvalid: a vendor without an ID, or with a domain or contact that is
// not one.
var ErrInvalid = errors.New("vendors: invalid vendor")

// ErrFull: the arena reached 256 MiB; call Compact or shard the index.
var ErrFull = errors.New("vendors: index full")

// NewIndex builds an index from vs.
func NewIndex(vs []Vendor) (*Index, error) {
	keys, bytes := 0, 0
	for _, v := range vs {
		keys += 1 + len(v.Domains) + len(v.Contacts)
		bytes += 8 + len(v.ID) + len(v.Name)
		for _, d := range v.Domains {
			bytes += 2 + len(d)
		}
		for _, c := range v.Contacts {
			bytes += 2 + len(c)
		}
	}
	x := &Index{seed: maphash.MakeSeed(), blocks: make([]uint32, 1, len(vs)+1), arena: make([]byte, 1, bytes+1),
		table: make([]entry, tableSize(keys))}
	for _, v := range vs {
		if err := x.put(v); err != nil {
			return nil, err
		}
	}
	// The estimate counted contacts in full; give back what compression saved.
	x.arena = slices.Clip(append(make([]byte, 0, len(x.arena)), x.arena...))
	return x, nil
}

// tableSize keeps the load at most 75%, where linear probing stays short.
// Slots come from the whole hash range (multiply-shift), so any size
// works, not only powers of two, and no memory goes to rounding up.
func tableSize(keys int) int {
	return max(64, keys*4/3+1)
}

// Put adds a vendor or replaces the one with the same ID.
func (x *Index) Put(v Vendor) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.gen.Add(1)
	return x.put(v)
}

// Remove deletes a vendor; removing an unknown ID does nothing.
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.gen.Add(1)
	x.remove(id)
}

// Len returns the number of vendors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.count
}

// Compact rewrites the arena without the bytes of replaced and removed vendors.
func (x *Index) Compact() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var vs []Vendor
	for n := 1; n < len(x.blocks); n++ {
		if x.blocks[n] != 0 {
			vs = append(vs, x.decode(x.blocks[n]))
		}
	}
	fresh, err := NewIndex(vs)
	if err != nil {
		return err
	}
	x.seed, x.arena, x.table, x.used, x.dead, x.blocks, x.free, x.count = fresh.seed, fresh.arena, fresh.table, fresh.used, fresh.dead, fresh.blocks, fresh.free, fresh.count
	return nil
}

func (x *Index) appendKey(kind byte, key string) uint32 {
	if len(key) > 255 {
		key = key[:255]
	}
	off := uint32(len(x.arena))
	x.arena = append(x.arena, byte(len(key)), kind)
	x.arena = append(x.arena, key...)
	return off
}

func (x *Index) put(v Vendor) error {
	if v.ID == "" || len(v.ID) > 255 {
		return ErrInvalid
	}
	domains := make([]string, 0, len(v.Domains))
	for _, d := range v.Domains {
		n, ok := NormalizeDomain(d)
		if !ok {
			return fmt.Errorf("%w: %s: domain %q is not a domain", ErrInvalid, v.ID, d)
		}
		domains = append(domains, n)
	}
	contacts := make([]string, 0, len(v.Contacts))
	for _, c := range v.Contacts {
		n, ok := NormalizeAddress(c)
		if !ok {
			return fmt.Errorf("%w: %s: contact %q is not an address", ErrInvalid, v.ID, c)
		}
		contacts = append(contacts, n)
	}
	if len(x.arena) > maxArena-4096 {
		return ErrFull
	}
	x.remove(v.ID)
	var num uint32
	if n := len(x.free); n > 0 {
		num, x.free = x.free[n-1], x.free[:n-1]
	} else {
		num = uint32(len(x.blocks))
		x.blocks = append(x.blocks, 0)
	}
	// The block: ID, name, tracked flag, then the keys; each is
	// [length][kind][bytes], and the table points at the same bytes.
	type pending struct {
		off  uint32
		kind byte
		key  string
	}
	start := x.appendKey(kindID, v.ID)
	keys := []pending{{start, kindID, v.ID}}
	x.appendKey(kindName, v.Name)
	if v.Tracked {
		x.appendKey(kindTracked, "")
	}
	for _, d := range domains {
		keys = append(keys, pending{x.appendKey(kindDomain, d), kindDomain, d})
	}
	for _, c := range contacts {
		at := strings.LastIndexByte(c, '@')
		k := slices.Index(domains, c[at+1:])
		var off uint32
		if k >= 0 && k < 256 && at < 256 {
			off = uint32(len(x.arena))
			x.arena = append(x.arena, byte(at), kindLocal, byte(k))
			x.arena = append(x.arena, c[:at]...)
		} else {
			off = x.appendKey(kindContact, c)
		}
		keys = append(keys, pending{off, kindContact, c})
	}
	// End of block (a key of kind 0), written before any insert: a rehash
	// walks whole blocks.
	x.arena = append(x.arena, 0, 0)
	x.blocks[num] = start
	x.count++
	for _, k := range keys {
		x.insert(k.off, num, k.kind, k.key)
	}
	return nil
}

// keys walks a vendor's block, giving every key in full (a kindLocal
// contact as kindContact with its domain).
func (x *Index) keys(start uint32, fn func(off uint32, kind byte, key string)) {
	var domains []string
	for o := start; ; {
		n := uint32(x.arena[o])
		kind := x.arena[o+1]
		switch kind {
		case 0:
			return
		case kindLocal:
			fn(o, kindContact, string(x.arena[o+3:o+3+n])+"@"+domains[x.arena[o+2]])
			o += 3 + n
			continue
		case kindDomain:
			domains = append(domains, string(x.arena[o+2:o+2+n]))
		}
		fn(o, kind, string(x.arena[o+2:o+2+n]))
		o += 2 + n
	}
}

// domainOf returns the bytes of the k-th domain of the block at start.
func (x *Index) domainOf(start uint32, k byte) []byte {
	for o := start; ; {
		n := uint32(x.arena[o])
		switch x.arena[o+1] {
		case 0:
			return nil
		case kindLocal:
			o += 3 + n
			continue
		case kindDomain:
			if k == 0 {
				return x.arena[o+2 : o+2+n]
			}
			k--
		}
		o += 2 + n
	}
}

func (x *Index) decode(start uint32) Vendor {
	var v Vendor
	x.keys(start, func(_ uint32, kind byte, key string) {
		switch kind {
		case kindID:
			v.ID = key
		case kindName:
			v.Name = key
		case kindTracked:
			v.Tracked = true
		case kindDomain:
			v.Domains = append(v.Domains, key)
		case kindContact:
			v.Contacts = append(v.Contacts, key)
		}
	})
	return v
}

func (x *Index) remove(id string) {
	num, ok := x.lookupID(id)
	if !ok {
		return
	}
	x.keys(x.blocks[num], func(off uint32, kind byte, key string) {
		if kind == kindID || kind == kindDomain || kind == kindContact {
			x.delete(off, kind, key, num)
		}
	})
	x.blocks[num] = 0
	x.free = append(x.free, num)
	x.count--
}

func (x *Index) hash(kind byte, key string) uint64 {
	// Mixing the kind in after hashing keeps one call to maphash.
	return maphash.String(x.seed, key) ^ uint64(kind)*0x9E3779B97F4A7C15
}

// slot maps a hash onto the table (multiply-shift, any table size).
func (x *Index) slot(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(x.table)))
	return int(hi)
}

func (x *Index) matches(e entry, kind byte, key string, tag uint32) bool {
	if e.off>>28 != tag {
		return false
	}
	o := e.off & offMask
	n := int(x.arena[o])
	if x.arena[o+1] == kindLocal {
		if kind != kindContact || len(key) <= n || key[n] != '@' || string(x.arena[o+3:o+3+uint32(n)]) != key[:n] {
			return false
		}
		return string(x.domainOf(x.blocks[e.vendor], x.arena[o+2])) == key[n+1:]
	}
	return n == len(key) && x.arena[o+1] == kind && string(x.arena[o+2:o+2+uint32(n)]) == key
}

func (x *Index) insert(off, vendor uint32, kind byte, key string) {
	if (x.used+x.dead+1)*4 > len(x.table)*3 {
		x.rehash(tableSize((x.used + 1) * 2))
	}
	h := x.hash(kind, key)
	tag := uint32(h & 15)
	for i := x.slot(h); ; i = (i + 1) % len(x.table) {
		e := x.table[i]
		if e.vendor == vendor && x.matches(e, kind, key, tag) {
			return
		}
		if e.vendor == 0 || e.vendor == tombstone {
			if e.vendor == tombstone {
				x.dead--
			}
			x.table[i] = entry{vendor: vendor, off: off | tag<<28}
			x.used++
			return
		}
	}
}

func (x *Index) delete(off uint32, kind byte, key string, vendor uint32) {
	h := x.hash(kind, key)
	for i := x.slot(h); x.table[i].vendor != 0; i = (i + 1) % len(x.table) {
		e := x.table[i]
		if e.vendor == vendor && e.off&offMask == off {
			x.table[i].vendor = tombstone
			x.used--
			x.dead++
			return
		}
	}
}

func (x *Index) rehash(size int) {
	x.table = make([]entry, size)
	x.used, x.dead = 0, 0
	for num, start := range x.blocks {
		if start == 0 {
			continue
		}
		x.keys(start, func(off uint32, kind byte, key string) {
			if kind != kindID && kind != kindDomain && kind != kindContact {
				return
			}
			h := x.hash(kind, key)
			i := x.slot(h)
			for x.table[i].vendor != 0 {
				i = (i + 1) % len(x.table)
			}
			x.table[i] = entry{vendor: uint32(num), off: off | uint32(h&15)<<28}
			x.used++
		})
	}
}

func (x *Index) lookupID(id string) (uint32, bool) {
	h := x.hash(kindID, id)
	tag := uint32(h & 15)
	for i := x.slot(h); x.table[i].vendor != 0; i = (i + 1) % len(x.table) {
		e := x.table[i]
		if e.vendor != tombstone && x.matches(e, kindID, id, tag) {
			return e.vendor, true
		}
	}
	return 0, false
}

func (x *Index) appendBy(dst []string, kind byte, key string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	h := x.hash(kind, key)
	tag := uint32(h & 15)
	for i := x.slot(h); x.table[i].vendor != 0; i = (i + 1) % len(x.table) {
		e := x.table[i]
		if e.vendor != tombstone && x.matches(e, kind, key, tag) {
			// The vendor's ID is the first key of its block.
			o := x.blocks[e.vendor]
			n := uint32(x.arena[o])
			dst = append(dst, string(x.arena[o+2:o+2+n]))
		}
	}
	return dst
}

// AppendByContact implements [Directory] (address must be normalised).
func (x *Index) AppendByContact(_ context.Context, dst []string, address string) ([]string, error) {
	return x.appendBy(dst, kindContact, address), nil
}

// AppendByDomain implements [Directory] (domain must be normalised).
func (x *Index) AppendByDomain(_ context.Context, dst []string, domain string) ([]string, error) {
	return x.appendBy(dst, kindDomain, domain), nil
}

// Vendor implements [Directory].
func (x *Index) Vendor(_ context.Context, id string) (Vendor, bool, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	num, ok := x.lookupID(id)
	if !ok {
		return Vendor{}, false, nil
	}
	return x.decode(x.blocks[num]), true, nil
}

var _ Directory = (*Index)(nil)
