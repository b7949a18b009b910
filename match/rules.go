package match

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"

	"github.com/m365link/m365link/vendors"
)

// PinKind says what a [Pin] covers.
type PinKind uint8

// Pin kinds.
const (
	// PinAddress pins one address (plus-tags, case and display names
	// aside, as [vendors.NormalizeAddress] reads it).
	PinAddress PinKind = iota + 1
	// PinDomain pins one domain, not its subdomains.
	PinDomain
	// PinDomainAndSubdomains pins a domain and every domain under it.
	PinDomainAndSubdomains
)

// String returns "address", "domain" or "domain and subdomains".
func (k PinKind) String() string {
	switch k {
	case PinAddress:
		return "address"
	case PinDomain:
		return "domain"
	case PinDomainAndSubdomains:
		return "domain and subdomains"
	}
	return "invalid"
}

// Pin is a host's correction: an address or domain that belongs to a
// vendor, whatever the other rules say, or (with no VendorID) that never
// matches one. When several pins cover an address, the most specific
// decides: the address's pin, then its domain's [PinDomain] pin, then the
// nearest [PinDomainAndSubdomains] pin (eu.acme.com's before acme.com's).
type Pin struct {
	// Kind says what Key is: an address, a domain, or a domain and its
	// subdomains.
	Kind PinKind
	// Key is the address or domain, in any form the vendors package
	// normalises; [Matcher.Overrides] returns it normalised.
	Key string
	// VendorID is the vendor the key belongs to; "" ignores the key: it
	// never matches a vendor ([ReasonIgnored]).
	VendorID string
	// AllowFreemail lets a domain pin cover a domain on the free-mail list
	// (gmail.com, or a subdomain of one). Without it such a pin is refused:
	// it would put every stranger at that provider under the vendor, and
	// the host most likely meant to pin one address.
	AllowFreemail bool
}

// String says what the pin does, e.g. "pin of domain acme.com and its
// subdomains to acme" or "pin ignoring address news@globex.com".
func (p Pin) String() string {
	if p.VendorID == "" {
		return "pin ignoring " + p.what()
	}
	return "pin of " + p.what() + " to " + p.VendorID
}

// Text is the rule text of a match the pin decided: "pinned address
// ann@acme.com", "pinned domain acme.com", "pinned domain acme.com and its
// subdomains".
func (p Pin) Text() string { return "pinned " + p.what() }

func (p Pin) what() string {
	if p.Kind == PinDomainAndSubdomains {
		return "domain " + p.Key + " and its subdomains"
	}
	return p.Kind.String() + " " + p.Key
}

// Overrides are the host's corrections. They win over every rule and
// survive re-matching: they apply to every match, including those of
// [Matcher.Rematch].
type Overrides struct {
	// Pins are the host's pins, each with its kind (see [Pin]).
	Pins []Pin
	// Pin is shorthand for Pins: a key with an "@" is a [PinAddress], any
	// other a [PinDomainAndSubdomains]; a vendor ID must be given.
	Pin map[string]string
	// Ignore is shorthand for Pins with no vendor: addresses (with an
	// "@") and domains with their subdomains that never match a vendor.
	Ignore []string
	// FreemailList adjusts the free-mail list: add or remove domains, add
	// categories, turn built-in ones (free-mail, isp, disposable) off.
	FreemailList ListChanges
	// Freemail is shorthand for FreemailList.Add[CategoryFreemail].
	Freemail []string
	// NotFreemail is shorthand for FreemailList.Remove.
	NotFreemail []string
	// RoleList adjusts the list of role local parts: add or remove
	// entries ("billing-noreply", "alerts*"), add categories, turn
	// built-in ones (no-reply, system, notification, auto-reply, bounce)
	// off.
	RoleList ListChanges
}

// Config configures a [Matcher].
type Config struct {
	// Directory looks vendors up: a *vendors.Index, or the host's own.
	Directory vendors.Directory
	// InternalDomains are the tenant's own domains; their subdomains are
	// internal too. Mail between colleagues is not vendor mail, but a
	// known contact or a pinned address on one of them matches.
	InternalDomains []string
	// TrackedOnly leaves out vendors the admin does not track: activity
	// surfaces only for tracked vendors.
	TrackedOnly bool
	// DropRoleAddresses leaves out role addresses (noreply@, bounce…@) that
	// match only by domain. By default they match, flagged, at half
	// confidence.
	DropRoleAddresses bool
	// Overrides are the host's corrections; see also [Matcher.SetOverrides].
	Overrides Overrides
}

// pin is a normalised pin, as the rules keep it.
type pin struct {
	Pin
	specific int // 0 address, 1 domain, 2 domain and subdomains: lower wins
}

// domainFacts is what the rules say about one domain, whatever the local
// part: one map lookup per candidate domain answers every domain rule.
type domainFacts struct {
	exact, tree *pin
	internal    bool
	freemail    string // category
}

// rules is a matcher's immutable configuration with the cache of outcomes
// that depend on it. SetOverrides replaces it as a whole.
type rules struct {
	addrPins map[string]*pin
	domains  map[string]domainFacts
	// filter holds the domains of domains: a domain it says is absent is.
	// Most domains are, and the filter (32 KB) stays in the CPU's caches
	// where the map (about a megabyte) does not.
	filter      *domainFilter
	freemail    *domainList
	roles       *roleList
	trackedOnly bool
	dropRoles   bool
	norm        Overrides // normalised, for Matcher.Overrides
	// keys are the normalised keys of every override, with what they
	// decide, to tell what a change of overrides affects.
	keys map[string]string
	// gen tells these rules from the matcher's earlier ones in its cache.
	gen  uint64
	pins []*pin
}

// lastFacts memoises freemailFacts for the last list it was asked about:
// overrides change pins far more often than lists, and building the facts
// of 14,000 domains costs a millisecond.
var lastFacts struct {
	gosync.Mutex
	l     *domainList
	facts map[string]domainFacts
}

// freemailFacts returns a new map of the domain facts of every domain on
// the list.
func freemailFacts(l *domainList) map[string]domainFacts {
	lastFacts.Lock()
	defer lastFacts.Unlock()
	if lastFacts.l == nil || !lastFacts.l.equal(l) {
		f := make(map[string]domainFacts, len(l.builtin)+len(l.added))
		l.each(func(d, c string) { f[d] = domainFacts{freemail: c} })
		lastFacts.l, lastFacts.facts = l, f
	}
	return maps.Clone(lastFacts.facts)
}

func newRules(cfg Config, o Overrides) (*rules, error) {
	r := &rules{addrPins: map[string]*pin{}, domains: map[string]domainFacts{}, keys: map[string]string{},
		trackedOnly: cfg.TrackedOnly, dropRoles: cfg.DropRoleAddresses}
	var err error
	var freemailKeys []string
	if r.freemail, freemailKeys, err = newDomainList(o.FreemailList, o.Freemail, o.NotFreemail); err != nil {
		return nil, err
	}
	if r.roles, err = newRoleList(o.RoleList); err != nil {
		return nil, err
	}
	r.domains = freemailFacts(r.freemail)
	for _, d := range cfg.InternalDomains {
		n, ok := vendors.NormalizeDomain(d)
		if !ok {
			return nil, fmt.Errorf("match: internal domain %q is not a domain", d)
		}
		f := r.domains[n]
		f.internal = true
		r.domains[n] = f
	}
	pins := slices.Clone(o.Pins)
	for _, k := range slices.Sorted(maps.Keys(o.Pin)) {
		v := o.Pin[k]
		if v == "" {
			return nil, fmt.Errorf("match: override pins %q to an empty vendor ID", k)
		}
		pins = append(pins, shorthandPin(k, v))
	}
	for _, k := range o.Ignore {
		pins = append(pins, shorthandPin(k, ""))
	}
	for _, p := range pins {
		if err := r.addPin(p); err != nil {
			return nil, err
		}
	}
	for _, k := range freemailKeys {
		r.keys[k] = "free-mail " + r.freemail.category(k)
	}
	for _, c := range o.FreemailList.Off {
		r.keys["\x00free-mail off "+c] = c
	}
	r.norm = normalOverrides(o, r)
	r.filter = &domainFilter{seed: rand.Uint64()}
	for d := range r.domains {
		r.filter.add(d)
	}
	return r, nil
}

// domainFacts returns the facts about a normalised domain, whose filter
// hash is h.
func (r *rules) domainFacts(d string, h uint64) (domainFacts, bool) {
	if !r.filter.has(h) {
		return domainFacts{}, false
	}
	f, ok := r.domains[d]
	return f, ok
}

// domainFilter is a Bloom filter of domains: two bits a domain in 2^18
// (32 KB), so that with the 14,000 domains of the free-mail lists about
// one absent domain in a hundred passes. A domain is hashed from its last
// byte to its first, so one pass over a domain hashes each of its parents
// on the way (see suffixes): the matcher asks about a domain and its
// parents, and hashing each afresh cost more than the rest of the check.
type domainFilter struct {
	seed uint64
	bits [filterBits / 64]uint64
}

const filterBits = 1 << 18

// hash returns d's hash: FNV-1a over d's bytes backwards, from the
// filter's seed, then mixed (FNV's high bits alone are weak).
func (f *domainFilter) hash(d string) uint64 {
	h := f.seed
	for i := len(d) - 1; i >= 0; i-- {
		h = (h ^ uint64(d[i])) * fnvPrime
	}
	return mix64(h)
}

// suffixes appends to hs the hashes of d's suffixes that start a label,
// the shortest (its last label) first and d itself last: the hash of
// d's last k labels is hs[k-1].
func (f *domainFilter) suffixes(d string, hs []uint64) []uint64 {
	h := f.seed
	for i := len(d) - 1; i >= 0; i-- {
		h = (h ^ uint64(d[i])) * fnvPrime
		if i == 0 || d[i-1] == '.' {
			hs = append(hs, mix64(h))
		}
	}
	return hs
}

const fnvPrime = 1099511628211

// mix64 is MurmurHash3's finaliser: every bit of h moves every bit out.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

func (f *domainFilter) add(d string) {
	h := f.hash(d)
	for _, b := range [2]uint64{h >> (64 - 18), h & (filterBits - 1)} {
		f.bits[b/64] |= 1 << (b % 64)
	}
}

// has reports whether the domain of hash h may be in the filter.
func (f *domainFilter) has(h uint64) bool {
	b1, b2 := h>>(64-18), h&(filterBits-1)
	return f.bits[b1/64]&(1<<(b1%64)) != 0 && f.bits[b2/64]&(1<<(b2%64)) != 0
}

func shorthandPin(k, vendor string) Pin {
	if strings.Contains(k, "@") {
		return Pin{Kind: PinAddress, Key: k, VendorID: vendor}
	}
	return Pin{Kind: PinDomainAndSubdomains, Key: k, VendorID: vendor}
}

func (r *rules) addPin(p Pin) error {
	np := &pin{Pin: p}
	switch p.Kind {
	case PinAddress:
		n, ok := vendors.NormalizeAddress(p.Key)
		if !ok {
			return fmt.Errorf("match: pin of %q: not an e-mail address", p.Key)
		}
		np.Key = n
		if old, ok := r.addrPins[n]; ok && old.VendorID != p.VendorID {
			return conflict(n, old.VendorID, p.VendorID)
		}
		r.addrPins[n] = np
	case PinDomain, PinDomainAndSubdomains:
		n, ok := vendors.NormalizeDomain(p.Key)
		if !ok {
			return fmt.Errorf("match: pin of %q: not a domain a mailbox can be at", p.Key)
		}
		np.Key = n
		if p.VendorID != "" && !p.AllowFreemail {
			for _, c := range parents(n, 0) {
				if cat := r.freemail.category(c); cat != "" {
					return fmt.Errorf("match: pin of %s to %q: %s is on the free-mail list (category %s); pin an address instead, or set AllowFreemail", n, p.VendorID, c, cat)
				}
			}
		}
		f := r.domains[n]
		old := &f.exact
		np.specific = 1
		if p.Kind == PinDomainAndSubdomains {
			old, np.specific = &f.tree, 2
		}
		if *old != nil && (*old).VendorID != p.VendorID {
			return conflict(n, (*old).VendorID, p.VendorID)
		}
		*old = np
		r.domains[n] = f
	default:
		return fmt.Errorf("match: pin of %q has no kind", p.Key)
	}
	r.keys[np.Kind.String()+"\x00"+np.Key] = np.VendorID
	r.pins = append(r.pins, np)
	return nil
}

func conflict(key, a, b string) error {
	if a == "" || b == "" {
		return fmt.Errorf("match: overrides both pin %q to %q and ignore it", key, a+b)
	}
	return fmt.Errorf("match: overrides pin %q to both %q and %q", key, a, b)
}

// normalOverrides returns the overrides with every key normalised, pins
// in Pins (sorted by key and kind), shorthands folded in.
func normalOverrides(o Overrides, r *rules) Overrides {
	var n Overrides
	for _, p := range r.pins {
		n.Pins = append(n.Pins, p.Pin)
	}
	slices.SortFunc(n.Pins, func(a, b Pin) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return int(a.Kind) - int(b.Kind)
	})
	n.Pins = slices.Compact(n.Pins)
	if r.freemail.added != nil || len(r.freemail.removed) > 0 || len(o.FreemailList.Off) > 0 {
		for d, c := range r.freemail.added {
			if n.FreemailList.Add == nil {
				n.FreemailList.Add = map[string][]string{}
			}
			n.FreemailList.Add[c] = append(n.FreemailList.Add[c], d)
		}
		for _, v := range n.FreemailList.Add {
			slices.Sort(v)
		}
		n.FreemailList.Remove = slices.Sorted(maps.Keys(r.freemail.removed))
		n.FreemailList.Off = slices.Compact(slices.Sorted(slices.Values(o.FreemailList.Off)))
	}
	if !o.RoleList.IsZero() {
		n.RoleList = cloneList(o.RoleList)
	}
	return n
}

func cloneList(l ListChanges) ListChanges {
	var c ListChanges
	if l.Add != nil {
		c.Add = map[string][]string{}
		for k, v := range l.Add {
			c.Add[k] = slices.Clone(v)
		}
	}
	c.Remove, c.Off = slices.Clone(l.Remove), slices.Clone(l.Off)
	return c
}

// parents returns domain and its parents down to the registrable domain,
// which starts at reg (from vendors.Address.Registrable): mail.eu.acme.co.uk,
// eu.acme.co.uk, acme.co.uk. With reg 0 it computes it.
func parents(domain string, reg int) []string {
	if reg == 0 {
		if a, ok := vendors.ParseAddress("x@" + domain); ok {
			reg = len(domain) - len(a.Registrable())
		}
	}
	out := []string{domain}
	for d := domain; len(d) > len(domain)-reg; {
		d = d[strings.IndexByte(d, '.')+1:]
		out = append(out, d)
	}
	return out
}

// overridesChange returns the keys whose treatment differs between two
// sets of overrides: what must be matched again.
func overridesChange(a, b *rules) Change {
	var c Change
	add := func(k string) {
		if i := strings.IndexByte(k, 0); i >= 0 {
			k = k[i+1:]
		}
		switch {
		case strings.HasPrefix(k, "free-mail off "):
			// A whole category: every domain in it.
			cat := strings.TrimPrefix(k, "free-mail off ")
			for d, dc := range builtinDomains() {
				if dc == cat {
					c.Domains = append(c.Domains, d)
				}
			}
		case strings.Contains(k, "@"):
			c.Addresses = append(c.Addresses, k)
		default:
			c.Domains = append(c.Domains, k)
		}
	}
	for k, v := range a.keys {
		if w, ok := b.keys[k]; !ok || w != v {
			add(k)
		}
	}
	for k := range b.keys {
		if _, ok := a.keys[k]; !ok {
			add(k)
		}
	}
	// Role addresses are found by local part, at any domain.
	ra, rb := flatRoles(a.roles), flatRoles(b.roles)
	for _, l := range [][2][]roleEntry{{ra, rb}, {rb, ra}} {
		for _, e := range l[0] {
			if !slices.Contains(l[1], e) {
				c.LocalParts = append(c.LocalParts, e.word)
			}
		}
	}
	return c.normal()
}

func flatRoles(r *roleList) []roleEntry {
	var out []roleEntry
	for _, es := range r.byFirst {
		out = append(out, es...)
	}
	slices.SortFunc(out, func(a, b roleEntry) int { return strings.Compare(a.word+a.category, b.word+b.category) })
	return out
}

// isExchangeInternal reports an Exchange legacy DN ("/O=EXCHANGELABS/…")
// or one wrapped in SMTP ("IMCEAEX-_O=…@…"): Graph shows these for
// colleagues whose SMTP address it could not resolve.
func isExchangeInternal(addr string) bool {
	a := strings.TrimSpace(addr)
	return len(a) >= 3 && strings.EqualFold(a[:3], "/o=") || len(a) >= 8 && strings.EqualFold(a[:8], "imceaex-")
}
