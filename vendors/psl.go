package vendors

import (
	_ "embed" // the public suffix list's tables
	"math/bits"
	"strings"
	gosync "sync"
)

// registrable returns the index in a valid domain (see validDomain) of its
// registrable domain, the public suffix plus one label, or -1 when the
// domain is a public suffix itself.
//
// The public suffix is found as golang.org/x/net/publicsuffix finds it,
// in the tables of the x/net version go.mod names (psldata, copied from
// its publicsuffix/data; TestPublicSuffixList checks that they are the
// same list and give the same answers). publicsuffix.PublicSuffix costs
// about 150 ns and an allocation (it first checks that its input is not
// an IP address, and a domain's failed check builds an error), as much as
// the rest of normalising an address. A valid domain is never an IP
// address (its top-level label is not all digits and it has no colon), so
// this walk skips that check; and where x/net binary-searches each label
// among its parent's children, it finds the label's node in one small
// hash table (see pslIndex): a probe or two a label.
func registrable(d string) int {
	s := publicSuffix(d)
	if s == 0 {
		return -1
	}
	return strings.LastIndexByte(d[:s-1], '.') + 1
}

// publicSuffix returns the index in d of its public suffix: PublicSuffix
// of golang.org/x/net/publicsuffix (list.go) without the IP-address check
// and the ICANN flag, a label's node found by pslIndex.find.
func publicSuffix(d string) int {
	x := pslIndexOnce()
	lo, hi := uint32(0), uint32(pslNumTLD) // the root's children
	s, suffix, wildcard := d, len(d), false
	for {
		dot := strings.LastIndexByte(s, '.')
		if wildcard {
			suffix = 1 + dot
		}
		if lo == hi {
			break
		}
		f, ok := x.find(lo, hi, s[1+dot:])
		if !ok {
			break
		}
		u := x.children(f)
		lo = u & (1<<pslChildrenBitsLo - 1)
		u >>= pslChildrenBitsLo
		hi = u & (1<<pslChildrenBitsHi - 1)
		u >>= pslChildrenBitsHi
		switch u & (1<<pslChildrenBitsNodeType - 1) {
		case pslNodeTypeNormal:
			suffix = 1 + dot
		case pslNodeTypeException:
			return 1 + len(s)
		}
		u >>= pslChildrenBitsNodeType
		wildcard = u&(1<<pslChildrenBitsWildcard-1) != 0
		if dot == -1 {
			break
		}
		s = s[:dot]
	}
	if suffix == len(d) {
		// No rule matches: the prevailing rule is "*".
		return 1 + strings.LastIndexByte(d, '.')
	}
	return suffix
}

// pslIndex finds a node by its parent and its label, in 106 KB. It
// replaces a map of every node's path (560 KB, which other work evicted
// from the CPU's caches between addresses, and which hashed the whole
// suffix again for each label). It holds no label text: find checks a
// candidate against its label in pslText and its parent's children range,
// so a collision of hashes costs a probe, never a wrong answer.
type pslIndex struct {
	// slots is an open-addressing table (linear probing) of node indexes
	// plus one, 0 for an empty slot, each node at the slot pslHash gives
	// for the start of its parent's children range and its label: 64 KB,
	// a third full, so that a hit probes 1.2 slots on average and a miss
	// about two.
	slots [pslIndexSize]uint16
	// nodes holds what the walk reads of a node: its label's offset and
	// length in pslText, and its children index, laid out as in pslNodes
	// but without the ICANN bit between them. It is 4 bytes a node, one
	// load, where pslNodes takes 5 loads of a byte; 42 KB where pslNodes
	// has 52.
	nodes [pslNodesCount]uint32
}

// pslIndexSize is the count of pslIndex's slots: a power of two, so that
// a slot is the hash's low bits, and at least twice the node count, so
// that runs of full slots stay short.
const pslIndexSize = 1 << 15

// pslTextBits is how many low bits of a node hold its label's offset and
// length.
const pslTextBits = pslNodesBitsTextOffset + pslNodesBitsTextLength

// Node indexes plus one fit a uint16 (with 0 left for an empty slot), the
// table is at most half full, and a node's text and children index fit a
// uint32.
var (
	_ [1<<16 - 1 - pslNodesCount]struct{}
	_ [pslIndexSize - 2*pslNodesCount]struct{}
	_ [32 - pslTextBits - pslNodesBitsChildren]struct{}
)

// pslIndexOnce builds pslIndex on first use, so that a program that never
// normalises pays nothing (under a millisecond and 106 KB once it does).
var pslIndexOnce = gosync.OnceValue(func() *pslIndex {
	x := new(pslIndex)
	var walk func(lo, hi uint32)
	walk = func(lo, hi uint32) {
		for i := lo; i < hi; i++ {
			n := pslNode(i)
			x.nodes[i] = uint32(n>>(pslTextBits+pslNodesBitsICANN))<<pslTextBits | uint32(n)&(1<<pslTextBits-1)
			h := pslHash(lo, pslLabel(i))
			for x.slots[h%pslIndexSize] != 0 {
				h++
			}
			x.slots[h%pslIndexSize] = uint16(i + 1)
			c := pslChildren(i)
			walk(c&(1<<pslChildrenBitsLo-1), c>>pslChildrenBitsLo&(1<<pslChildrenBitsHi-1))
		}
	}
	walk(0, pslNumTLD)
	return x
})

// find returns the node labelled label among the children [lo, hi) of a
// node (the root's are [0, pslNumTLD)). A slot's node is the one only if
// it lies in that range and its label is label: the range stands for the
// parent, since every node but the root has one parent and a parent's
// children are one run of indexes, so no path need be stored or compared.
func (x *pslIndex) find(lo, hi uint32, label string) (uint32, bool) {
	for h := pslHash(lo, label); ; h++ {
		v := uint32(x.slots[h%pslIndexSize])
		if v == 0 {
			return 0, false
		}
		if v--; v-lo < hi-lo && x.label(v) == label {
			return v, true
		}
	}
}

// label returns node i's label, as pslLabel does.
func (x *pslIndex) label(i uint32) string {
	n := x.nodes[i]
	o := n >> pslNodesBitsTextLength & (1<<pslNodesBitsTextOffset - 1)
	return pslText[o : o+n&(1<<pslNodesBitsTextLength-1)]
}

// children returns node i's children word, as pslChildren does.
func (x *pslIndex) children(i uint32) uint32 {
	return pslChild(x.nodes[i] >> pslTextBits)
}

// pslHash hashes a label of 1 to 63 bytes with lo, the start of its
// parent's children range (no two parents share one). It reads the label
// a word at a time, as wyhash does: its first and last 8 bytes when it has
// more than 8 (and the 8-byte words between them beyond 16), its first and
// last 4 when it has 4 to 8, its first, middle and last byte when fewer;
// and it folds them with lo and the length in one 64×64→128-bit
// multiplication (one more for each word beyond 16 bytes). A loop with a
// multiplication for each byte would take a multiplication's latency a
// byte, several nanoseconds for a vendor's label.
func pslHash(lo uint32, label string) uint32 {
	n := len(label)
	var a, b uint64
	switch {
	case n > 8:
		a, b = pslLoad64(label), pslLoad64(label[n-8:])
		for i := 8; i < n-8; i += 8 {
			a = pslMix(a^pslMul0, pslLoad64(label[i:])^pslMul1)
		}
	case n >= 4:
		a, b = uint64(pslLoad32(label)), uint64(pslLoad32(label[n-4:]))
	case n > 0:
		a = uint64(label[0])<<16 | uint64(label[n>>1])<<8 | uint64(label[n-1])
	}
	return uint32(pslMix(a^pslMul0^uint64(lo)<<40^uint64(n), b^pslMul1))
}

// pslMul0 and pslMul1 are the first two secrets of wyhash's early
// versions: odd, with 32 one bits each, so that a multiplication by them
// spreads every input bit over the product.
const (
	pslMul0 = 0xa0761d6478bd642f
	pslMul1 = 0xe7037ed1a0b428db
)

// pslMix folds the 128-bit product of a and b to 64 bits.
func pslMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// pslLoad64 and pslLoad32 read s's first 8 or 4 bytes, little-endian.
func pslLoad64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func pslLoad32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// pslChildren returns the children word of node i.
func pslChildren(i uint32) uint32 {
	u := uint32(pslNode(i)>>(pslNodesBitsTextOffset+pslNodesBitsTextLength)) >> pslNodesBitsICANN
	return pslChild(u & (1<<pslNodesBitsChildren - 1))
}

// The tables of golang.org/x/net/publicsuffix (its table.go, generated by
// its gen.go) and their layout.
var (
	//go:embed psldata/text
	pslText string
	// pslNodes holds a 40-bit node a label: from the most significant
	// bit, 7 unused, 10 children index, 1 ICANN, 16 text offset, 6 text
	// length.
	//go:embed psldata/nodes
	pslNodes string
	// pslChildren holds a node's children, 32 bits each: from the most
	// significant bit, 1 unused, 1 wildcard, 2 node type, 14 high
	// (exclusive) and 14 low (inclusive) node indexes.
	//go:embed psldata/children
	pslChildTable string
)

const (
	// pslVersion is the list's version, as publicsuffix.List.String
	// returns it.
	pslVersion = "publicsuffix.org's public_suffix_list.dat, git revision d6c92f1bbb7433e5db7b8405c25d4035fb8ff376 (2026-02-06T07:36:33Z)"
	pslNumTLD  = 1450
	// pslNodesCount is how many nodes the list has (its gen.go's "max hi").
	pslNodesCount = 10533

	pslNodesBitsChildren   = 10
	pslNodesBitsICANN      = 1
	pslNodesBitsTextOffset = 16
	pslNodesBitsTextLength = 6

	pslChildrenBitsWildcard = 1
	pslChildrenBitsNodeType = 2
	pslChildrenBitsHi       = 14
	pslChildrenBitsLo       = 14

	pslNodeTypeNormal    = 0
	pslNodeTypeException = 1
)

func pslLabel(i uint32) string {
	x := pslNode(i)
	length := x & (1<<pslNodesBitsTextLength - 1)
	x >>= pslNodesBitsTextLength
	offset := x & (1<<pslNodesBitsTextOffset - 1)
	return pslText[offset : offset+length]
}

func pslNode(i uint32) uint64 {
	b := pslNodes[i*5 : i*5+5]
	return uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
}

func pslChild(i uint32) uint32 {
	b := pslChildTable[i*4 : i*4+4]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
