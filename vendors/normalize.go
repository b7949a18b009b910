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

// NormalizeDomain returns a domain in the form lookups use: lower-case
// ASCII, internationalised names in their IDNA (punycode) form, so
// "Bücher.Example" and "xn--bcher-kva.example" are both
// "xn--bcher-kva.example", and no trailing dot. It reports false for
// something that is not a domain of at least two labels.
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
	return s, validDomain(s)
}

// validDomain checks a lower-case ASCII domain: at most 253 bytes, two or
// more labels of 1 to 63 letters, digits, hyphens or underscores (which
// DNS allows and some mail hosts use).
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || strings.IndexByte(d, '.') < 0 {
		return false
	}
	label := 0
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// NormalizeAddress returns an address in the form lookups use:
//
//   - the bare address: surrounding space, a display name with angle
//     brackets ("Ann <ann@acme.com>") and a "mailto:" prefix removed;
//   - the local part lower-cased (Unicode ones in NFC first). RFC 5321 lets
//     a server tell "Ann" from "ann"; no mail system a vendor uses does;
//   - plus-addressing removed: "ann+quotes@acme.com" reaches the same
//     person as "ann@acme.com";
//   - the domain as [NormalizeDomain] returns it.
//
// It reports false for something that is not an address.
func NormalizeAddress(s string) (string, bool) {
	if plainAddress(s) {
		return s, true
	}
	return normalizeAddress(s)
}

// normalizeAddress is NormalizeAddress for any input, without the fast path.
func normalizeAddress(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	s = strings.TrimSpace(s)
	for len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		// Every prefix, so that the result never starts with one and
		// normalising it again gives it back.
		s = s[7:]
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", false
	}
	local, domain := s[:at], s[at+1:]
	if strings.ContainsAny(local, " \t\r\n<>,;@") || !utf8.ValidString(local) {
		return "", false
	}
	if p := strings.IndexByte(local, '+'); p > 0 {
		local = local[:p]
	}
	if isASCII(local) && isASCII(domain) {
		// The common case (a tag, capitals, a display name): one allocation.
		domain = strings.TrimSuffix(strings.TrimSpace(domain), ".")
		if len(local)+1+len(domain) > maxAddress {
			return "", false
		}
		var buf [maxAddress]byte
		b := append(append(append(buf[:0], local...), '@'), domain...)
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		if !validDomain(string(b[len(local)+1:])) {
			return "", false
		}
		return string(b), true
	}
	if isASCII(local) {
		local = lowerASCII(local)
	} else {
		local = strings.ToLower(norm.NFC.String(local))
	}
	d, ok := NormalizeDomain(domain)
	if !ok || len(local)+1+len(d) > maxAddress {
		return "", false
	}
	return local + "@" + d, true
}

// plainAddress reports whether a is already normalised and plainly so:
// lower-case ASCII letters, digits and ".-_" around one "@", a valid
// domain, no "+". Most addresses are, and normalising them allocates
// nothing. It is validDomain fused into one pass over the address.
func plainAddress(a string) bool {
	if len(a) > maxAddress {
		return false
	}
	at, label, dots := -1, 0, 0
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 && at >= 0 {
				return false
			}
		case c == '.':
			if at >= 0 {
				if label == 0 {
					return false
				}
				dots++
			}
			label = 0
		case c == '@' && at < 0:
			at, label = i, 0
		default:
			return false
		}
	}
	return at > 0 && dots > 0 && label > 0 && len(a)-at-1 <= 253
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
