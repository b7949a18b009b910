package vendors

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// maxAddress is the longest address SMTP carries (RFC 5321: a 256-octet
// path less its angle brackets).
const maxAddress = 254

// Address is a normalised e-mail address, as [ParseAddress] returns it,
// with its parts. The zero Address is no address.
type Address struct {
	s       string
	at, reg int // the index of the "@" that ends the local part; of the registrable domain
}

// String returns the address in the form [NormalizeAddress] returns.
func (a Address) String() string { return a.s }

// Local returns the local part: lower-case, without a plus-tag, and quoted
// (as in `"john smith"`) only when it holds characters a bare local part
// cannot.
func (a Address) Local() string { return a.s[:a.at] }

// Domain returns the domain, as [NormalizeDomain] returns it.
func (a Address) Domain() string {
	if a.s == "" {
		return ""
	}
	return a.s[a.at+1:]
}

// Registrable returns the registrable domain of the address: its public
// suffix plus one label, by the public suffix list (acme.co.uk for
// ann@mail.eu.acme.co.uk). It is the domain itself or one of its parents.
func (a Address) Registrable() string { return a.s[a.reg:] }

// NormalizeDomain returns a domain in the form lookups use: lower-case
// ASCII, internationalised names in their IDNA (punycode) form, so
// "Bücher.Example" and "xn--bcher-kva.example" are both
// "xn--bcher-kva.example", and no trailing dot. It reports false for
// something that is not a domain a mailbox can be at: fewer than two
// labels, an IP address ("192.0.2.7": no top-level domain is all digits),
// or a public suffix alone ("co.uk", "com.au", "github.io": the public
// suffix list, ICANN and private sections, as golang.org/x/net/publicsuffix
// of the version go.mod names has it).
func NormalizeDomain(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	if !isASCII(s) {
		a, err := idna.Lookup.ToASCII(s)
		if err != nil {
			return "", false
		}
		s = a
	}
	s = lowerASCII(s)
	if !validDomain(s) || registrable(s) < 0 {
		return "", false
	}
	return s, true
}

// validDomain checks a lower-case ASCII domain: at most 253 bytes, two or
// more labels of 1 to 63 letters, digits, hyphens or underscores (which
// DNS allows and some mail hosts use), and a top-level label that is not
// all digits (RFC 3696 §2), which rules out IPv4 addresses.
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || strings.IndexByte(d, '.') < 0 {
		return false
	}
	label, digits := 0, 0
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label, digits = 0, 0
		case c >= '0' && c <= '9':
			digits++
			fallthrough
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0 && digits < label
}

// NormalizeAddress returns an address in the form lookups use, the one
// key for contacts, overrides and matching:
//
//   - the bare address: surrounding space, "mailto:" prefixes (every one;
//     with a prefix the rest is a mailto URI: "?" ends the address and
//     %-escapes are decoded) and a display name with angle brackets
//     (`Ann <ann@acme.com>`, `"Vendor, Ann" (Sales) <ann@acme.com>`)
//     removed, and comments around the address ("ann@acme.com (Ann)");
//   - the local part as RFC 5322 reads it: a quoted string
//     (`"john smith"@acme.com`) stands for its content with escapes
//     (`\"`) resolved, and dots may lead, trail or repeat as some old
//     systems' addresses do;
//   - the local part lower-cased (Unicode ones in NFC). RFC 5321 lets a
//     server tell "Ann" from "ann"; no mail system a vendor uses does;
//   - plus-addressing removed: "ann+quotes@acme.com" reaches the same
//     person as "ann@acme.com";
//   - the local part written bare when it can be, and quoted otherwise:
//     `"Ann"@acme.com` is ann@acme.com, `"John Smith"@acme.com` is
//     `"john smith"@acme.com`;
//   - the domain as [NormalizeDomain] returns it.
//
// It reports false for something that is not an address: no "@", an
// empty local part, a domain NormalizeDomain rejects, an IP address in
// brackets ("ann@[192.0.2.7]"), a list or group of addresses, more than
// 254 bytes. Its result normalises to itself.
func NormalizeAddress(s string) (string, bool) {
	a, ok := ParseAddress(s)
	return a.s, ok
}

// ParseAddress is [NormalizeAddress] with the parts of the address.
func ParseAddress(s string) (Address, bool) {
	if at := plainAddress(s); at > 0 {
		reg := registrable(s[at+1:])
		if reg < 0 {
			return Address{}, false
		}
		return Address{s: s, at: at, reg: at + 1 + reg}, true
	}
	return parseAddress(s)
}

// parseAddress is ParseAddress for any input, without the fast path.
func parseAddress(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	uri := false
	for len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		// Every prefix, so that no result starts with one.
		s, uri = strings.TrimSpace(s[7:]), true
	}
	var dec [maxAddress + 64]byte
	if uri {
		if i := strings.IndexByte(s, '?'); i >= 0 {
			s = s[:i] // RFC 6068: the query (subject, body) follows "?"
		}
		if strings.IndexByte(s, '%') >= 0 {
			b, ok := percentDecode(dec[:0], s)
			if !ok {
				return Address{}, false
			}
			s = strings.TrimSpace(string(b))
		}
	}
	if len(s) > 2 && s[0] == '\'' && s[len(s)-1] == '\'' && strings.IndexByte(s, '<') < 0 {
		// 'ann@acme.com', as mail clients quote a bare address; the
		// domain cannot end in a quote, so this reading takes nothing
		// valid away.
		s = s[1 : len(s)-1]
	}
	spec, ok := addrSpecOf(s)
	if !ok {
		return Address{}, false
	}
	var buf [2*maxAddress + 8]byte
	local, domain, ok := splitAddrSpec(buf[:0], spec)
	if !ok {
		return Address{}, false
	}
	if p := strings.IndexByte(string(local), '+'); p > 0 {
		local = local[:p]
	}
	if isASCII(string(local)) {
		for i, c := range local {
			if c >= 'A' && c <= 'Z' {
				local[i] = c + 'a' - 'A'
			}
		}
	} else {
		if !utf8.Valid(local) {
			return Address{}, false
		}
		local = []byte(norm.NFC.String(strings.ToLower(norm.NFC.String(string(local)))))
	}
	d, ok := NormalizeDomain(domain)
	if !ok {
		return Address{}, false
	}
	var out [2*maxAddress + 8]byte
	b := appendLocal(out[:0], local)
	at := len(b)
	b = append(append(b, '@'), d...)
	if len(b) > maxAddress {
		return Address{}, false
	}
	return Address{s: string(b), at: at, reg: at + 1 + registrable(d)}, true
}

// outsideQuotes calls visit with the index of every byte of s from from
// on that lies outside quoted strings and comments, until visit says
// stop; it reports false for an unterminated quote or comment.
func outsideQuotes(s string, from int, visit func(i int) (stop bool)) bool {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '"':
			j, ok := skipQuoted(s, i)
			if !ok {
				return false
			}
			i = j - 1
		case '(':
			j, ok := skipComment(s, i)
			if !ok {
				return false
			}
			i = j - 1
		default:
			if visit(i) {
				return true
			}
		}
	}
	return true
}

// addrSpecOf returns the addr-spec of a mailbox (RFC 5322 §3.4): the
// inside of the last angle-addr outside quotes and comments (the display
// name before it is not checked: mail clients write all sorts there), or
// the whole input. An obsolete route ("<@relay.example:ann@acme.com>") and
// "mailto:" prefixes inside the brackets are dropped.
func addrSpecOf(s string) (string, bool) {
	lt := -1
	if !outsideQuotes(s, 0, func(i int) bool {
		if s[i] == '<' {
			lt = i
		}
		return false
	}) {
		return "", false
	}
	if lt < 0 {
		return s, true
	}
	// The angle-addr runs to its ">", outside quotes and comments, and
	// only comments and space may follow it.
	gt := -1
	if !outsideQuotes(s, lt+1, func(i int) bool {
		if s[i] == '>' {
			gt = i
		}
		return gt >= 0
	}) {
		return "", false
	}
	if gt < 0 {
		return "", false
	}
	if rest, ok := skipCFWS(s, gt+1); !ok || rest != len(s) {
		return "", false
	}
	in := strings.TrimSpace(s[lt+1 : gt])
	for len(in) >= 7 && strings.EqualFold(in[:7], "mailto:") {
		in = strings.TrimSpace(in[7:])
	}
	if strings.HasPrefix(in, "@") {
		c := strings.IndexByte(in, ':')
		if c < 0 {
			return "", false
		}
		in = in[c+1:]
	}
	return in, true
}

// splitAddrSpec reads an addr-spec with comments and space around it and
// appends its local part's content (quoted strings unquoted, escapes
// resolved) to b; it returns that and the domain as written.
func splitAddrSpec(b []byte, s string) ([]byte, string, bool) {
	i, ok := skipCFWS(s, 0)
	if !ok {
		return nil, "", false
	}
	start := len(b)
loop:
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			j, ok := skipQuoted(s, i)
			if !ok {
				return nil, "", false
			}
			for k := i + 1; k < j-1; k++ {
				c := s[k]
				if c == '\\' {
					k++
					c = s[k]
				}
				if c < ' ' && c != '\t' || c == 0x7f {
					return nil, "", false
				}
				b = append(b, c)
			}
			i = j
		case c == '.' || isAtext(c):
			b = append(b, c)
			i++
		default:
			break loop
		}
		if len(b)-start > maxAddress {
			return nil, "", false
		}
	}
	if len(b) == start || i == len(s) || s[i] != '@' {
		return nil, "", false
	}
	i, ok = skipCFWS(s, i+1)
	if !ok {
		return nil, "", false
	}
	d := i
	for i < len(s) && (s[i] == '.' || isAtext(s[i])) {
		i++
	}
	domain := s[d:i]
	if j, ok := skipCFWS(s, i); !ok || j != len(s) || domain == "" {
		return nil, "", false
	}
	return b[start:], domain, true
}

// isAtext reports a byte of an RFC 5322 atom: ASCII letters, digits and
// !#$%&'*+-/=?^_`{|}~, and (RFC 6532) any byte of a non-ASCII character.
func isAtext(c byte) bool {
	return c >= 0x80 || atext[c]
}

var atext = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

// appendLocal appends a local part's content to b, bare when every byte
// is atext or a dot, quoted otherwise.
func appendLocal(b, local []byte) []byte {
	bare := true
	for _, c := range local {
		if c != '.' && !isAtext(c) {
			bare = false
			break
		}
	}
	if bare {
		return append(b, local...)
	}
	b = append(b, '"')
	for _, c := range local {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// skipQuoted returns the index after the quoted string that starts at
// s[i] == '"'.
func skipQuoted(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipComment returns the index after the comment, nested ones in it,
// that starts at s[i] == '('.
func skipComment(s string, i int) (int, bool) {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// skipCFWS returns the index after the comments and white space at s[i:].
func skipCFWS(s string, i int) (int, bool) {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '(':
			j, ok := skipComment(s, i)
			if !ok {
				return 0, false
			}
			i = j
		default:
			return i, true
		}
	}
	return i, true
}

// percentDecode appends s with its %XX escapes decoded to b.
func percentDecode(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return nil, false
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			c = h<<4 | l
			i += 2
		}
		if len(b) == cap(b) {
			return nil, false
		}
		b = append(b, c)
	}
	return b, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// plainAddress returns the index of the "@" of an address that is already
// normalised and plainly so: lower-case ASCII letters, digits and ".-_"
// around one "@", a valid domain (but for the public suffix list), no
// "+"; 0 or less for anything else. Most addresses are, and normalising
// them allocates nothing. It is validDomain fused into one pass over the
// address.
func plainAddress(a string) int {
	if len(a) > maxAddress {
		return -1
	}
	at, label, digits, dots := -1, 0, 0, 0
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case c >= '0' && c <= '9':
			digits++
			fallthrough
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			label++
			if label > 63 && at >= 0 {
				return -1
			}
		case c == '.':
			if at >= 0 {
				if label == 0 {
					return -1
				}
				dots++
			}
			label, digits = 0, 0
		case c == '@' && at < 0:
			at, label, digits = i, 0, 0
		default:
			return -1
		}
	}
	if at > 0 && dots > 0 && label > 0 && digits < label && len(a)-at-1 <= 253 {
		return at
	}
	return -1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases ASCII letters, allocating only when there is one.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
