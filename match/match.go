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
type Matcher struct {
	dir   vendors.Directory
	cfg   Config
	rules atomic.Pointer[rules]
	mu    gosync.Mutex // serialises SetOverrides
	pool  gosync.Pool  // *work
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
		case pt.done && pt.dropped.Reason == "":
			// a repeated address: it counted in its first role
		case pt.done:
			res.Dropped = append(res.Dropped, pt.dropped)
		default:
			m.decide(r, w, pt, &res)
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
		if pt.f.freemail == "" {
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
func (m *Matcher) decide(r *rules, w *work, pt *part, res *Result) {
	var rule Rule
	var key string
	var hits []vendors.Hit
	switch {
	case pt.pin >= 0:
		rule, key, hits = RuleOverride, pt.ovKey, w.hitsOf(pt.pin)
		if len(hits) == 0 {
			res.Dropped = append(res.Dropped, Dropped{Participant: pt.p, Reason: ReasonUnknownVendor, Rule: rule, Key: key,
				Candidates: []string{pt.ov.vendor}})
			return
		}
	case len(w.hitsOf(pt.contact)) > 0:
		rule, key, hits = RuleContact, pt.p.Normalized, w.hitsOf(pt.contact)
	case pt.f.freemail != "":
		res.Dropped = append(res.Dropped, Dropped{Participant: pt.p, Reason: ReasonFreemail, Key: pt.f.freemail})
		return
	default:
		for i, k := range w.doms[pt.doms : pt.doms+pt.ndoms] {
			if hs := w.hitsOf(k); len(hs) > 0 {
				rule, key, hits = RuleDomain, pt.f.cands[i], hs
				if i > 0 {
					rule = RuleParentDomain
				}
				break
			}
		}
		if hits == nil {
			res.Dropped = append(res.Dropped, Dropped{Participant: pt.p, Reason: ReasonNoVendor})
			return
		}
	}
	// The candidates, deduplicated (a host directory may repeat a vendor).
	ids := w.ids[:0]
	tracked := false
	for _, h := range hits {
		if !slices.Contains(ids, h.VendorID) {
			ids = append(ids, h.VendorID)
		}
		tracked = tracked || h.Tracked
	}
	w.ids = ids
	drop := func(reason Reason) {
		res.Dropped = append(res.Dropped, Dropped{Participant: pt.p, Reason: reason, Rule: rule, Key: key, Candidates: slices.Sorted(slices.Values(ids))})
	}
	switch {
	case r.trackedOnly && !tracked:
		drop(ReasonUntracked)
	case len(ids) > 1:
		// Ambiguity is decided before tracking: with a tracked and an
		// untracked vendor on one domain, either may own the mail.
		drop(ReasonAmbiguous)
	case pt.p.RoleAddress && r.dropRoles && (rule == RuleDomain || rule == RuleParentDomain):
		drop(ReasonRoleAddress)
	default:
		c := confidence(rule)
		if pt.p.RoleAddress {
			c /= 2
		}
		res.Matches = append(res.Matches, Match{VendorID: ids[0], Rule: rule, Key: key, Confidence: c, Participant: pt.p})
	}
}
