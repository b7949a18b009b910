package fakegraph

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"strings"
)

// Every identifier the fake hands out is a pure function of a counter and a
// namespace, so two servers fed the same calls produce the same IDs.

// splitmix64 is the mixing step of SplitMix64: cheap, and good enough to make
// counter-derived bytes look random.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashKey folds a string into a 64-bit namespace key.
func hashKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// guid renders a version-4-shaped GUID derived from ns and n.
func guid(ns, n uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], splitmix64(ns^splitmix64(n)))
	binary.BigEndian.PutUint64(b[8:], splitmix64(ns+n*0x2545f4914f6cdd1d))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// Kinds of mailbox item, mixed into item IDs so a message and an event with
// the same counter still differ.
const (
	kindFolder       byte = 0x01
	kindMessage      byte = 0x09
	kindEvent        byte = 0x0d
	kindContact      byte = 0x0e
	kindConversation byte = 0x10
	kindCalendar     byte = 0x12
)

// idHeader is the fixed prefix of Exchange immutable IDs as they appear
// base64url-encoded ("AAkALgAAAAAA").
var idHeader = [...]byte{0x00, 0x09, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x00}

// itemID returns an Exchange-looking immutable ID: about 100 base64url
// characters with padding. Its length cycles with n so that IDs end in "==",
// "=" or nothing, and odd counters carry the bytes that encode as "-_-_", so
// clients that forget to escape IDs in paths or queries fail early.
func itemID(mailboxKey uint64, kind byte, n uint64) string {
	size := 73 + int(n%3)
	b := make([]byte, size)
	copy(b, idHeader[:])
	binary.BigEndian.PutUint64(b[9:], mailboxKey)
	binary.BigEndian.PutUint64(b[17:], splitmix64(mailboxKey))
	b[25] = kind
	binary.BigEndian.PutUint32(b[26:], uint32(n))
	x := splitmix64(mailboxKey ^ uint64(kind)<<56 ^ n)
	for i := 30; i < size; i++ {
		if (i-30)%8 == 0 {
			x = splitmix64(x)
		}
		b[i] = byte(x >> (8 * ((i - 30) % 8)))
	}
	if n%2 == 1 {
		copy(b[30:], []byte{0xfb, 0xff, 0xbf})
	}
	return base64.URLEncoding.EncodeToString(b)
}

// changeKey renders an Exchange-style change key (standard base64, so it
// carries '+' and '/' now and then) for a mailbox's change sequence number.
func changeKey(mailboxKey, seq uint64) string {
	var b [22]byte
	copy(b[:], []byte{0x09, 0x00, 0x00, 0x00, 0x16, 0x00})
	binary.BigEndian.PutUint64(b[6:], splitmix64(mailboxKey))
	binary.BigEndian.PutUint64(b[14:], splitmix64(mailboxKey^seq))
	return base64.StdEncoding.EncodeToString(b[:])
}

// internetMessageID renders an RFC 5322 Message-ID on the sender's domain.
func internetMessageID(mailboxKey, n uint64, domain string) string {
	if domain == "" {
		domain = "fakegraph.invalid"
	}
	x := splitmix64(mailboxKey ^ n<<1)
	host := strings.ToUpper(hex.EncodeToString(binary.BigEndian.AppendUint32(nil, uint32(x>>32))))
	return "<" + host + strings.ToUpper(hex.EncodeToString(binary.BigEndian.AppendUint64(nil, splitmix64(x)))) + "@" + domain + ">"
}

// conversationIndex renders the 22-byte header of an Outlook conversation
// index, base64-encoded.
func conversationIndex(mailboxKey, n uint64) string {
	var b [22]byte
	b[0] = 0x01
	binary.BigEndian.PutUint64(b[1:], splitmix64(mailboxKey^n))
	binary.BigEndian.PutUint64(b[9:], splitmix64(n))
	binary.BigEndian.PutUint32(b[17:], uint32(n))
	return base64.StdEncoding.EncodeToString(b[:])
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
