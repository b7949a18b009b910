package match

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/vendors"
)

// Matcher maps participants of messages and events to vendors. It is safe
// for concurrent use, including [Matcher.SetOverrides] while matching.
//
// It caches what the rules say about up to 65,536 domains and, when its
// directory is a [vendors.Versioned] (an Index is), the outcomes of up to
// 65,536 addresses and the vendors of as many domains, until the
// directory's version changes: a few tens of MB at most.
type Matcher struct {
	dir vendors.Directory
	// versioned is dir when it is a vendors.Versioned: then domains'
	// answers are cached in domains while its version stays.
	versioned vendors.Versioned
	domains   cache[domainAnswer]
	cfg       Config
	rules     atomic.Pointer[rules]
	mu        gosync.Mutex // serialises SetOverrides
	pool      gosync.Pool  // *work
}

// New returns a matcher for cfg.
func New(cfg Config) (*Matcher, error) {
	if cfg.Directory == nil {
		return nil, errors.New("match: Config.Directory is required")
	}
	r, err := newRules(cfg, cfg.Overrides)
	if err != nil {
		return nil, err
	}
	m := &Matcher{dir: cfg.Directory, cfg: cfg}
	m.versioned, _ = cfg.Directory.(vendors.Versioned)
	m.cfg.Overrides = Overrides{}
	m.rules.Store(r)
	m.pool.New = func() any { return new(work) }
	return m, nil
}

// SetOverrides replaces the matcher's overrides, for the matches that
// start after it returns. It returns what changed, for [Matcher.Rematch]:
// the addresses and domains whose treatment differs.
func (m *Matcher) SetOverrides(o Overrides) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := newRules(m.cfg, o)
	if err != nil {
		return Change{}, err
	}
	c := overridesChange(m.rules.Load(), r)
	m.rules.Store(r)
	return c, nil
}

// Overrides returns the matcher's overrides, normalised.
func (m *Matcher) Overrides() Overrides {
	n := m.rules.Load().norm
	n.Pin = maps.Clone(n.Pin)
	n.Ignore = slices.Clone(n.Ignore)
	n.Freemail = slices.Clone(n.Freemail)
	n.NotFreemail = slices.Clone(n.NotFreemail)
	return n
}

// Freemail reports whether addresses at domain (or at a subdomain of a
// listed one) are free-mail: the embedded list as the overrides adjust it.
func (m *Matcher) Freemail(domain string) bool {
	d, ok := vendors.NormalizeDomain(domain)
	return ok && m.rules.Load().facts(d).freemail != ""
}

// MatchAddress matches one address, alone (its role is [RoleAddress]).
func (m *Matcher) MatchAddress(ctx context.Context, addr string) (Result, error) {
	w := m.get()
	defer m.put(w)
	w.add(0, RoleAddress, m365link.EmailAddress{Address: addr})
	return m.run(ctx, w)
}

// MatchMessage matches every participant of a message: from, sender (when
// it differs from from), to, cc, bcc and reply-to.
func (m *Matcher) MatchMessage(ctx context.Context, msg *m365link.Message) (Result, error) {
	w := m.get()
	defer m.put(w)
	i := 0
	if msg.From.Address != "" {
		w.add(i, RoleFrom, msg.From)
		i++
	}
	if msg.Sender.Address != "" && !strings.EqualFold(msg.Sender.Address, msg.From.Address) {
		w.add(i, RoleSender, msg.Sender)
		i++
	}
	for _, l := range []struct {
		role Role
		as   []m365link.EmailAddress
	}{{RoleTo, msg.To}, {RoleCc, msg.Cc}, {RoleBcc, msg.Bcc}, {RoleReplyTo, msg.ReplyTo}} {
		for _, a := range l.as {
			w.add(i, l.role, a)
			i++
		}
	}
	return m.run(ctx, w)
}

// MatchEvent matches an event's organizer and attendees.
func (m *Matcher) MatchEvent(ctx context.Context, ev *m365link.Event) (Result, error) {
	w := m.get()
	defer m.put(w)
	i := 0
	if ev.Organizer.Address != "" {
		w.add(i, RoleOrganizer, ev.Organizer)
		i++
	}
	for _, a := range ev.Attendees {
		w.add(i, RoleAttendee, a.EmailAddress)
		i++
	}
	return m.run(ctx, w)
}

// work is the scratch space of one match, pooled.
type work struct {
	parts []part
	keys  []vendors.Key
	hits  []vendors.Hit
	// keyIndex finds keys once there are many (a message to hundreds).
	keyIndex map[vendors.Key]int
	// doms holds the domain keys of every participant (see part.doms).
	doms []int
	// sorted holds hits grouped by key; from[k]:from[k+1] are key k's.
	sorted   []vendors.Hit
	from, at []int
	ids      []string
	// version is the directory's version before the lookup, when it has one.
	version   uint64
	versioned bool
}

// part is a participant on its way through the rules.
type part struct {
	p Participant
	// done is set once the participant has an outcome without a lookup.
	done    bool
	dropped Dropped
	f       *facts
	ovKey   string
	ov      override
	// pin, contact: key indexes (-1 when not asked); work.doms[doms+i] is
	// the key of f.cands[i] when ndoms > 0.
	pin, contact int
	doms, ndoms  int
	// domain is the cached answer for the domain, when there was one.
	domain *domainAnswer
	// outcome is the address's cached outcome, when there was one.
	outcome *outcome
}

func (m *Matcher) get() *work { return m.pool.Get().(*work) }

func (m *Matcher) put(w *work) {
	clear(w.parts[:cap(w.parts)])
	clear(w.keys[:cap(w.keys)])
	clear(w.hits[:cap(w.hits)])
	clear(w.sorted[:cap(w.sorted)])
	clear(w.ids[:cap(w.ids)])
	if cap(w.parts) > 1024 || cap(w.keys) > 4096 {
		return // a huge message: let its buffers go
	}
	clear(w.keyIndex)
	w.parts, w.keys, w.hits, w.sorted, w.ids, w.doms = w.parts[:0], w.keys[:0], w.hits[:0], w.sorted[:0], w.ids[:0], w.doms[:0]
	m.pool.Put(w)
}

func (w *work) add(i int, role Role, a m365link.EmailAddress) {
	if a.Address == "" {
		return
	}
	w.parts = append(w.parts, part{p: Participant{Index: i, Role: role, Name: a.Name, Address: a.Address}})
}

// key returns the index of a key, adding it once.
func (w *work) key(kind vendors.KeyKind, v string) int {
	k := vendors.Key{Kind: kind, Value: v}
	if len(w.keys) <= 32 {
		// Most messages have a few keys: a scan beats hashing them.
		if i := slices.Index(w.keys, k); i >= 0 {
			return i
		}
		if len(w.keys) == 32 {
			if w.keyIndex == nil {
				w.keyIndex = make(map[vendors.Key]int)
			}
			for i, k := range w.keys {
				w.keyIndex[k] = i
			}
		}
	} else if i, ok := w.keyIndex[k]; ok {
		return i
	}
	w.keys = append(w.keys, k)
	if len(w.keys) > 32 {
		w.keyIndex[k] = len(w.keys) - 1
	}
	return len(w.keys) - 1
}

// run applies the rules to w's participants: first what needs no lookup
// (overrides, internal, invalid), then one directory lookup for every
// remaining address, domain and pinned vendor, then the lookup's answers.
func (m *Matcher) run(ctx context.Context, w *work) (Result, error) {
	r := m.rules.Load()
	if m.versioned != nil {
		w.version, w.versioned = m.versioned.Version(), true
	}
	for i := range w.parts {
		pt := &w.parts[i]
		m.prepare(r, w, i, pt)
	}
	if len(w.keys) > 0 {
		var err error
		if w.hits, err = m.dir.Lookup(ctx, w.hits[:0], w.keys); err != nil {
			return Result{}, fmt.Errorf("match: directory lookup: %w", err)
		}
		w.group()
	}
	var res Result
	for i := range w.parts {
		pt := &w.parts[i]
		switch {
		case pt.outcome != nil:
			pt.outcome.add(&res, pt.p)
		case pt.done && pt.dropped.Reason == "":
			// a repeated address: it counted in its first role
		case pt.done:
			res.Dropped = append(res.Dropped, pt.dropped)
		default:
			o := m.decide(r, w, pt)
			if w.versioned {
				r.addresses.put(w.version, pt.p.Normalized, o)
			}
			o.add(&res, pt.p)
		}
	}
	return res, nil
}

// prepare normalises a participant and applies the rules that need no
// directory: overrides, internal domains, free-mail; it queues the keys
// the rest need.
func (m *Matcher) prepare(r *rules, w *work, i int, pt *part) {
	drop := func(reason Reason, key string) {
		pt.done, pt.dropped = true, Dropped{Participant: pt.p, Reason: reason, Key: key}
	}
	if isExchangeInternal(pt.p.Address) {
		drop(ReasonInternal, "")
		return
	}
	n, ok := vendors.NormalizeAddress(pt.p.Address)
	if !ok {
		drop(ReasonInvalid, "")
		return
	}
	for j := range i {
		if w.parts[j].p.Normalized == n {
			pt.done = true // counted in its first role
			return
		}
	}
	pt.p.Normalized, pt.p.RoleAddress = n, IsRoleAddress(n)
	if w.versioned {
		if pt.outcome = r.addresses.get(w.version, n); pt.outcome != nil {
			pt.done = true
			return
		}
	}
	pt.pin, pt.contact = -1, -1
	pt.f = r.facts(n[strings.LastIndexByte(n, '@')+1:])
	if o, ok := r.overrides[n]; ok {
		pt.ovKey, pt.ov = n, o
	} else if pt.f.ovKey != "" {
		pt.ovKey, pt.ov = pt.f.ovKey, pt.f.ov
	}
	switch {
	case pt.ovKey != "" && pt.ov.vendor == "":
		drop(ReasonIgnored, pt.ovKey)
	case pt.ovKey != "":
		pt.pin = w.key(vendors.KeyID, pt.ov.vendor)
	case pt.f.internal != "":
		drop(ReasonInternal, pt.f.internal)
	default:
		pt.contact = w.key(vendors.KeyContact, n)
		if pt.f.freemail == "" && w.versioned {
			pt.domain = m.domains.get(w.version, n[strings.LastIndexByte(n, '@')+1:])
		}
		if pt.f.freemail == "" && pt.domain == nil {
			pt.doms, pt.ndoms = len(w.doms), len(pt.f.cands)
			for _, c := range pt.f.cands {
				w.doms = append(w.doms, w.key(vendors.KeyDomain, c))
			}
		}
	}
}

// group sorts the hits by key (a counting sort: hits are few, keys fewer).
func (w *work) group() {
	n := len(w.keys)
	w.from = slices.Grow(w.from[:0], n+1)[:n+1]
	w.at = slices.Grow(w.at[:0], n)[:n]
	clear(w.from)
	for _, h := range w.hits {
		if h.Key >= 0 && h.Key < n {
			w.from[h.Key+1]++
		}
	}
	for k := range n {
		w.from[k+1] += w.from[k]
		w.at[k] = w.from[k]
	}
	w.sorted = slices.Grow(w.sorted[:0], w.from[n])[:w.from[n]]
	for _, h := range w.hits {
		if h.Key >= 0 && h.Key < n {
			w.sorted[w.at[h.Key]] = h
			w.at[h.Key]++
		}
	}
}

func (w *work) hitsOf(k int) []vendors.Hit {
	if k < 0 || len(w.from) == 0 {
		return nil
	}
	return w.sorted[w.from[k]:w.from[k+1]]
}

// decide applies the rules that need the directory's answers.
func (m *Matcher) decide(r *rules, w *work, pt *part) *outcome {
	var rule Rule
	var key string
	var hits []vendors.Hit
	switch {
	case pt.pin >= 0:
		rule, key, hits = RuleOverride, pt.ovKey, w.hitsOf(pt.pin)
		if len(hits) == 0 {
			return &outcome{reason: ReasonUnknownVendor, rule: rule, key: key, ids: []string{pt.ov.vendor}}
		}
	case len(w.hitsOf(pt.contact)) > 0:
		// Cloned: the outcome may be cached, and must not pin the caller's string.
		rule, key, hits = RuleContact, strings.Clone(pt.p.Normalized), w.hitsOf(pt.contact)
	case pt.f.freemail != "":
		return &outcome{reason: ReasonFreemail, key: pt.f.freemail}
	default:
		a := pt.domain
		if a == nil {
			a = w.domainAnswer(pt)
			if w.versioned {
				m.domains.put(w.version, pt.p.Normalized[strings.LastIndexByte(pt.p.Normalized, '@')+1:], a)
			}
		}
		if a.cand < 0 {
			return &outcome{reason: ReasonNoVendor}
		}
		rule, key, hits = RuleDomain, pt.f.cands[a.cand], a.hits
		if a.cand > 0 {
			rule = RuleParentDomain
		}
	}
	// The candidates, deduplicated (a host directory may repeat a vendor).
	o := &outcome{rule: rule, key: key}
	tracked := false
	for _, h := range hits {
		if !slices.Contains(o.ids, h.VendorID) {
			o.ids = append(o.ids, h.VendorID)
		}
		tracked = tracked || h.Tracked
	}
	slices.Sort(o.ids)
	switch {
	case r.trackedOnly && !tracked:
		o.reason = ReasonUntracked
	case len(o.ids) > 1:
		// Ambiguity is decided before tracking: with a tracked and an
		// untracked vendor on one domain, either may own the mail.
		o.reason = ReasonAmbiguous
	case pt.p.RoleAddress && r.dropRoles && (rule == RuleDomain || rule == RuleParentDomain):
		o.reason = ReasonRoleAddress
	}
	return o
}

// outcome is what the rules decided for an address, whoever sent it in
// whatever role: a match (no reason, ids[0] the vendor) or a drop.
type outcome struct {
	reason Reason
	rule   Rule
	key    string
	ids    []string
}

func (o *outcome) add(res *Result, p Participant) {
	if o.reason != "" {
		res.Dropped = append(res.Dropped, Dropped{Participant: p, Reason: o.reason, Rule: o.rule, Key: o.key, Candidates: slices.Clone(o.ids)})
		return
	}
	c := confidence(o.rule)
	if p.RoleAddress {
		c /= 2
	}
	res.Matches = append(res.Matches, Match{VendorID: o.ids[0], Rule: o.rule, Key: o.key, Confidence: c, Participant: p})
}

// domainAnswer is what the directory says about an address's domain: the
// first of its candidate domains (itself, then parents) that vendors
// claim, and their hits.
type domainAnswer struct {
	cand int // index in facts.cands; -1 when no vendor claims any
	hits []vendors.Hit
}

var noVendor = &domainAnswer{cand: -1}

func (w *work) domainAnswer(pt *part) *domainAnswer {
	for i, k := range w.doms[pt.doms : pt.doms+pt.ndoms] {
		if hs := w.hitsOf(k); len(hs) > 0 {
			return &domainAnswer{cand: i, hits: slices.Clone(hs)}
		}
	}
	return noVendor
}
