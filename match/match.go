package match

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	"golang.org/x/net/publicsuffix"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/vendors"
)

//go:embed freemail.txt
var freemailList string

var (
	freemailOnce gosync.Once
	freemail     map[string]struct{}
)

func builtinFreemail() map[string]struct{} {
	freemailOnce.Do(func() {
		freemail = make(map[string]struct{}, 15000)
		sc := bufio.NewScanner(strings.NewReader(freemailList))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && l[0] != '#' {
				freemail[l] = struct{}{}
			}
		}
	})
	return freemail
}

// Rule says how a participant was matched to a vendor, in the order the
// rules apply.
type Rule string

// Rules.
const (
	// RuleOverride: the host pinned the address or domain to the vendor.
	RuleOverride Rule = "override"
	// RuleContact: the address is one of the vendor's known contacts.
	RuleContact Rule = "contact"
	// RuleDomain: the address's domain is one of the vendor's domains.
	RuleDomain Rule = "domain"
	// RuleParentDomain: a parent of the address's domain, up to the
	// registrable domain (acme.co.uk for mail.eu.acme.co.uk), is the vendor's.
	RuleParentDomain Rule = "parent domain"
)

var confidence = map[Rule]float64{RuleOverride: 1, RuleContact: 0.99, RuleDomain: 0.9, RuleParentDomain: 0.8}

// Role says where a participant appeared.
type Role string

// Roles.
const (
	RoleFrom      Role = "from"
	RoleSender    Role = "sender"
	RoleTo        Role = "to"
	RoleCc        Role = "cc"
	RoleBcc       Role = "bcc"
	RoleReplyTo   Role = "reply-to"
	RoleOrganizer Role = "organizer"
	RoleAttendee  Role = "attendee"
	RoleAddress   Role = "address"
)

// Participant is one address of a message or event.
type Participant struct {
	// Address is as it appeared; Normalized is the form looked up.
	Address    string
	Normalized string
	Role       Role
	// RoleAddress marks no-reply, bounce, postmaster and similar
	// mailbox-of-a-system addresses.
	RoleAddress bool
}

// Match is one vendor a participant belongs to.
type Match struct {
	VendorID    string
	Rule        Rule
	Participant Participant
	// Confidence is 1 for overrides down to 0.8 for parent domains, halved
	// for role addresses.
	Confidence float64
	// Key is the contact, domain or override key that matched.
	Key string
}

// Reason says why a participant yields no match.
type Reason string

// Reasons.
const (
	ReasonInternal  Reason = "internal domain"
	ReasonFreemail  Reason = "free-mail domain, not a known contact"
	ReasonIgnored   Reason = "ignored by an override"
	ReasonUntracked Reason = "vendor not tracked"
	ReasonAmbiguous Reason = "claimed by several vendors"
	ReasonNoVendor  Reason = "no vendor claims it"
	ReasonInvalid   Reason = "not an e-mail address"
)

// Dropped is a participant (or one of its candidate vendors) left out, and why.
type Dropped struct {
	Participant Participant
	Reason      Reason
	// Vendors names the candidates for ambiguous and untracked drops.
	Vendors []string
	Rule    Rule
}

// Result is the outcome for an address, message or event.
type Result struct {
	Matches []Match
	Dropped []Dropped
}

// Vendors returns the distinct vendor IDs matched, in order of first appearance.
func (r Result) Vendors() []string {
	var out []string
	for _, m := range r.Matches {
		if !slices.Contains(out, m.VendorID) {
			out = append(out, m.VendorID)
		}
	}
	return out
}

// Ambiguous returns the drops where several vendors claimed one participant.
func (r Result) Ambiguous() []Dropped {
	var out []Dropped
	for _, d := range r.Dropped {
		if d.Reason == ReasonAmbiguous {
			out = append(out, d)
		}
	}
	return out
}

// Explain renders the result for a UI: one line per match and per drop.
func (r Result) Explain() string {
	var b strings.Builder
	for _, m := range r.Matches {
		fmt.Fprintf(&b, "%s (%s): vendor %s by %s %q, confidence %.2f", m.Participant.Normalized, m.Participant.Role, m.VendorID, m.Rule, m.Key, m.Confidence)
		if m.Participant.RoleAddress {
			b.WriteString(", a role address")
		}
		b.WriteByte('\n')
	}
	for _, d := range r.Dropped {
		addr := d.Participant.Normalized
		if addr == "" {
			addr = d.Participant.Address
		}
		fmt.Fprintf(&b, "%s (%s): no vendor: %s", addr, d.Participant.Role, d.Reason)
		if len(d.Vendors) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(d.Vendors, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Overrides are the host's corrections; they win over every rule and
// survive re-matching. Keys are addresses or domains (normalised on load).
type Overrides struct {
	// Pin maps an address or domain to a vendor ID.
	Pin map[string]string
	// Ignore lists addresses or domains that never match.
	Ignore []string
}

// Config configures a [Matcher].
type Config struct {
	// Directory looks vendors up (a *vendors.Index, or the host's own).
	Directory vendors.Directory
	// InternalDomains are the tenant's own domains (and their subdomains):
	// mail between colleagues is not vendor mail.
	InternalDomains []string
	// FreemailAdd and FreemailRemove adjust the embedded free-mail list.
	FreemailAdd, FreemailRemove []string
	Overrides                   Overrides
	// TrackedOnly drops matches of vendors whose Tracked flag is false.
	TrackedOnly bool
}

// Matcher maps participants to vendors. It is safe for concurrent use.
type Matcher struct {
	dir       vendors.Directory
	internal  map[string]struct{}
	extraFree map[string]struct{}
	notFree   map[string]struct{}
	pins      map[string]string
	ignore    map[string]struct{}
	tracked   bool

	// Domain outcomes, valid for one generation of the directory.
	cacheMu  gosync.RWMutex
	cache    map[string]domainOutcome
	tracks   map[string]bool
	cacheGen uint64
}

// New returns a matcher.
func New(cfg Config) (*Matcher, error) {
	if cfg.Directory == nil {
		return nil, fmt.Errorf("match: Config.Directory is required")
	}
	m := &Matcher{dir: cfg.Directory, internal: set(cfg.InternalDomains, domainKey), extraFree: set(cfg.FreemailAdd, domainKey),
		notFree: set(cfg.FreemailRemove, domainKey), ignore: map[string]struct{}{}, pins: map[string]string{}, tracked: cfg.TrackedOnly}
	for k, v := range cfg.Overrides.Pin {
		if n, ok := anyKey(k); ok {
			m.pins[n] = v
		}
	}
	for _, k := range cfg.Overrides.Ignore {
		if n, ok := anyKey(k); ok {
			m.ignore[n] = struct{}{}
		}
	}
	return m, nil
}

func domainKey(d string) (string, bool) { return vendors.NormalizeDomain(d) }

func anyKey(k string) (string, bool) {
	if strings.Contains(k, "@") {
		return vendors.NormalizeAddress(k)
	}
	return vendors.NormalizeDomain(k)
}

func set(keys []string, norm func(string) (string, bool)) map[string]struct{} {
	out := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if n, ok := norm(k); ok {
			out[n] = struct{}{}
		}
	}
	return out
}

// Freemail reports whether domain (normalised) is a free-mail domain.
func (m *Matcher) Freemail(domain string) bool {
	if _, ok := m.notFree[domain]; ok {
		return false
	}
	if _, ok := m.extraFree[domain]; ok {
		return true
	}
	_, ok := builtinFreemail()[domain]
	return ok
}

func (m *Matcher) isInternal(domain string) bool {
	for d := domain; d != ""; {
		if _, ok := m.internal[d]; ok {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return false
}

var rolePrefixes = []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster",
	"bounce", "bounces", "notifications", "notification", "notify", "alerts", "auto-reply", "autoreply"}

// IsRoleAddress reports whether a normalised address's local part names a
// system rather than a person: noreply@, mailer-daemon@, bounce…@.
func IsRoleAddress(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	for _, p := range rolePrefixes {
		if !strings.HasPrefix(local, p) {
			continue
		}
		if len(local) == len(p) || p == "bounce" || strings.IndexByte("-.+_0123456789", local[len(p)]) >= 0 {
			return true
		}
	}
	return false
}

// MatchAddress matches one address.
func (m *Matcher) MatchAddress(ctx context.Context, addr string) (Result, error) {
	var r Result
	err := m.add(ctx, &r, Participant{Address: addr, Role: RoleAddress})
	return r, err
}

// MatchMessage matches every participant of a message: from, sender,
// to, cc, bcc, reply-to.
func (m *Matcher) MatchMessage(ctx context.Context, msg *m365link.Message) (Result, error) {
	var ps []Participant
	add := func(role Role, as ...m365link.EmailAddress) {
		for _, a := range as {
			if a.Address != "" {
				ps = append(ps, Participant{Address: a.Address, Role: role})
			}
		}
	}
	add(RoleFrom, msg.From)
	if !strings.EqualFold(msg.Sender.Address, msg.From.Address) {
		add(RoleSender, msg.Sender)
	}
	add(RoleTo, msg.To...)
	add(RoleCc, msg.Cc...)
	add(RoleBcc, msg.Bcc...)
	add(RoleReplyTo, msg.ReplyTo...)
	return m.matchAll(ctx, ps)
}

// MatchEvent matches an event's organizer and attendees.
func (m *Matcher) MatchEvent(ctx context.Context, ev *m365link.Event) (Result, error) {
	var ps []Participant
	if ev.Organizer.Address != "" {
		ps = append(ps, Participant{Address: ev.Organizer.Address, Role: RoleOrganizer})
	}
	for _, a := range ev.Attendees {
		if a.Address != "" {
			ps = append(ps, Participant{Address: a.Address, Role: RoleAttendee})
		}
	}
	return m.matchAll(ctx, ps)
}

func (m *Matcher) matchAll(ctx context.Context, ps []Participant) (Result, error) {
	var r Result
	seen := map[string]bool{}
	for _, p := range ps {
		n, _ := vendors.NormalizeAddress(p.Address)
		if n != "" && seen[n] {
			continue // one address counts once, in its first role
		}
		seen[n] = true
		if err := m.add(ctx, &r, p); err != nil {
			return Result{}, err
		}
	}
	return r, nil
}

// add matches one participant into r, applying the rules in order.
func (m *Matcher) add(ctx context.Context, r *Result, p Participant) error {
	n, ok := vendors.NormalizeAddress(p.Address)
	if !ok {
		r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonInvalid})
		return nil
	}
	p.Normalized, p.RoleAddress = n, IsRoleAddress(n)
	domain := n[strings.LastIndexByte(n, '@')+1:]

	// Overrides win: the address, then the domain and its parents.
	if _, ok := m.ignore[n]; ok {
		r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonIgnored})
		return nil
	}
	if v, ok := m.pins[n]; ok {
		return m.accept(ctx, r, p, []string{v}, RuleOverride, n)
	}
	d, err := m.domain(ctx, domain)
	if err != nil {
		return err
	}
	switch {
	case d.ignored:
		r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonIgnored})
		return nil
	case d.pin != "":
		return m.accept(ctx, r, p, []string{d.pin}, RuleOverride, d.key)
	case d.internal:
		r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonInternal})
		return nil
	}
	ids, err := m.dir.AppendByContact(ctx, nil, n)
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	switch {
	case len(ids) > 0:
		return m.accept(ctx, r, p, ids, RuleContact, n)
	case d.freemail:
		r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonFreemail})
		return nil
	case len(d.ids) > 0:
		return m.accept(ctx, r, p, slices.Clone(d.ids), d.rule, d.key)
	}
	r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonNoVendor})
	return nil
}

// domainOutcome is what the rules say about a domain, whatever the
// address's local part: overrides, internal, free-mail, and the vendors
// that claim it or its nearest claimed parent.
type domainOutcome struct {
	ignored, internal, freemail bool
	pin, key                    string
	ids                         []string
	rule                        Rule
}

// generational is implemented by directories that can say when their
// answers change (vendors.Index); the matcher then caches domain outcomes.
type generational interface{ Generation() uint64 }

const domainCacheSize = 1 << 16

func (m *Matcher) domain(ctx context.Context, domain string) (domainOutcome, error) {
	g, cacheable := m.dir.(generational)
	var gen uint64
	if cacheable {
		gen = g.Generation()
		m.cacheMu.RLock()
		d, ok := m.cache[domain]
		hit := ok && m.cacheGen == gen
		m.cacheMu.RUnlock()
		if hit {
			return d, nil
		}
	}
	d, err := m.computeDomain(ctx, domain)
	if err != nil || !cacheable {
		return d, err
	}
	m.cacheMu.Lock()
	m.resetLocked(gen)
	m.cache[domain] = d
	m.cacheMu.Unlock()
	return d, nil
}

// resetLocked starts a fresh cache when the directory changed or the cache
// is full; m.cacheMu must be held for writing.
func (m *Matcher) resetLocked(gen uint64) {
	if m.cache == nil || m.cacheGen != gen || len(m.cache)+len(m.tracks) >= domainCacheSize {
		m.cache, m.tracks, m.cacheGen = map[string]domainOutcome{}, map[string]bool{}, gen
	}
}

func (m *Matcher) computeDomain(ctx context.Context, domain string) (domainOutcome, error) {
	var d domainOutcome
	for p := range parents(domain) {
		if _, ok := m.ignore[p]; ok {
			d.ignored = true
			return d, nil
		}
		if v, ok := m.pins[p]; ok {
			d.pin, d.key = v, p
			return d, nil
		}
	}
	if m.isInternal(domain) {
		d.internal = true
		return d, nil
	}
	if m.Freemail(domain) {
		d.freemail = true
		return d, nil
	}
	rule := RuleDomain
	for p := range parents(domain) {
		ids, err := m.dir.AppendByDomain(ctx, nil, p)
		if err != nil {
			return d, fmt.Errorf("match: %w", err)
		}
		if len(ids) > 0 {
			slices.Sort(ids)
			d.ids, d.rule, d.key = slices.Compact(ids), rule, p
			return d, nil
		}
		rule = RuleParentDomain
	}
	return d, nil
}

// registrable caches public-suffix answers: senders' domains repeat, and
// the suffix walk costs as much as an index lookup. The cache is dropped
// when it grows past its bound, so it cannot grow without limit.
var registrable = struct {
	gosync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const registrableCacheSize = 1 << 16

func registrableDomain(domain string) string {
	registrable.RLock()
	top, ok := registrable.m[domain]
	registrable.RUnlock()
	if ok {
		return top
	}
	top, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		top = domain
	}
	registrable.Lock()
	if len(registrable.m) >= registrableCacheSize {
		registrable.m = map[string]string{}
	}
	registrable.m[domain] = top
	registrable.Unlock()
	return top
}

// parents yields domain and its parents down to the registrable domain
// (public suffix + 1): mail.eu.acme.co.uk, eu.acme.co.uk, acme.co.uk.
func parents(domain string) func(func(string) bool) {
	return func(yield func(string) bool) {
		top := registrableDomain(domain)
		for d := domain; ; {
			if !yield(d) || d == top {
				return
			}
			i := strings.IndexByte(d, '.')
			if i < 0 || len(d)-i-1 < len(top) {
				return
			}
			d = d[i+1:]
		}
	}
}

// accept records the candidates of one rule: one tracked vendor is a
// match; several are ambiguous and none is picked.
func (m *Matcher) accept(ctx context.Context, r *Result, p Participant, ids []string, rule Rule, key string) error {
	if len(ids) > 1 {
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	if m.tracked {
		var untracked []string
		kept := ids[:0:0]
		for _, id := range ids {
			ok, err := m.isTracked(ctx, id)
			if err != nil {
				return err
			}
			if ok {
				kept = append(kept, id)
			} else {
				untracked = append(untracked, id)
			}
		}
		if len(untracked) > 0 {
			r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonUntracked, Vendors: untracked, Rule: rule})
		}
		ids = kept
	}
	switch len(ids) {
	case 0:
		return nil
	case 1:
		c := confidence[rule]
		if p.RoleAddress {
			c /= 2
		}
		r.Matches = append(r.Matches, Match{VendorID: ids[0], Rule: rule, Participant: p, Confidence: c, Key: key})
	default:
		r.Dropped = append(r.Dropped, Dropped{Participant: p, Reason: ReasonAmbiguous, Vendors: ids, Rule: rule})
	}
	return nil
}

func (m *Matcher) isTracked(ctx context.Context, id string) (bool, error) {
	g, cacheable := m.dir.(generational)
	var gen uint64
	if cacheable {
		gen = g.Generation()
		m.cacheMu.RLock()
		t, ok := m.tracks[id]
		hit := ok && m.cacheGen == gen
		m.cacheMu.RUnlock()
		if hit {
			return t, nil
		}
	}
	v, ok, err := m.dir.Vendor(ctx, id)
	if err != nil {
		return false, fmt.Errorf("match: %w", err)
	}
	t := ok && v.Tracked
	if cacheable {
		m.cacheMu.Lock()
		m.resetLocked(gen)
		m.tracks[id] = t
		m.cacheMu.Unlock()
	}
	return t, nil
}
