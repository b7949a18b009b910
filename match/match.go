package match

import (
	"context"
	"errors"
	"fmt"
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
// When its directory is a [vendors.Versioned] (an Index is), it remembers
// the outcomes of up to 65,536 addresses (about 15 MB) until the
// directory's version changes; past that, older answers give way a few at
// a time (a new one replaces a current one only one time in eight, so
// of a working set larger than the cache it keeps answering a share).
type Matcher struct {
	dir vendors.Directory
	// versioned is dir when it is a vendors.Versioned: then outcomes are
	// cached while its version stays.
	versioned vendors.Versioned
	// prefetcher is dir when it is a vendors.Prefetcher (see prefetch).
	prefetcher vendors.Prefetcher
	cfg        Config
	rules      atomic.Pointer[rules]
	outcomes   outcomeCache
	mu         gosync.Mutex // serialises SetOverrides; guards gen
	gen        uint64
	pool       gosync.Pool // *work
}

// New returns a matcher for cfg. It refuses overrides that are not valid
// (see [Matcher.SetOverrides]).
func New(cfg Config) (*Matcher, error) {
	if cfg.Directory == nil {
		return nil, errors.New("match: Config.Directory is required")
	}
	m := &Matcher{dir: cfg.Directory, cfg: cfg}
	m.versioned, _ = cfg.Directory.(vendors.Versioned)
	m.prefetcher, _ = cfg.Directory.(vendors.Prefetcher)
	if m.versioned != nil {
		m.outcomes.init()
	}
	m.cfg.Overrides = Overrides{}
	r, err := m.newRules(cfg.Overrides)
	if err != nil {
		return nil, err
	}
	m.rules.Store(r)
	m.pool.New = func() any { return new(work) }
	return m, nil
}

func (m *Matcher) newRules(o Overrides) (*rules, error) {
	r, err := newRules(m.cfg, o)
	if err != nil {
		return nil, err
	}
	m.gen++
	r.gen = m.gen
	return r, nil
}

// SetOverrides replaces the matcher's overrides, for the matches that
// start after it returns. It validates them first and refuses the whole
// set, leaving the old one in place, when a key is not an address or
// domain, a key is pinned to two vendors, or a domain pin covers a
// free-mail domain without [Pin.AllowFreemail]. It returns what changed,
// for [Matcher.Rematch]: the addresses, domains and local parts whose
// treatment differs.
func (m *Matcher) SetOverrides(o Overrides) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.newRules(o)
	if err != nil {
		return Change{}, err
	}
	c := overridesChange(m.rules.Load(), r)
	m.rules.Store(r)
	return c, nil
}

// Overrides returns the matcher's overrides, normalised: every pin in
// Pins, sorted by key, the shorthands folded in.
func (m *Matcher) Overrides() Overrides {
	n := m.rules.Load().norm
	n.Pins = slices.Clone(n.Pins)
	n.FreemailList = cloneList(n.FreemailList)
	n.RoleList = cloneList(n.RoleList)
	return n
}

// Freemail reports whether addresses at domain (or at a subdomain of a
// listed one) are free-mail: the embedded list as the overrides adjust it.
func (m *Matcher) Freemail(domain string) bool {
	return m.FreemailCategory(domain) != ""
}

// FreemailCategory returns the free-mail list's category of domain
// ([CategoryFreemail], [CategoryISP], [CategoryDisposable] or one the host
// added), or of the nearest listed parent; "" when it is not on the list.
func (m *Matcher) FreemailCategory(domain string) string {
	d, ok := vendors.NormalizeDomain(domain)
	if !ok {
		return ""
	}
	r := m.rules.Load()
	for _, c := range parents(d, 0) {
		if cat := r.freemail.category(c); cat != "" {
			return cat
		}
	}
	return ""
}

// RoleCategory returns the role list's category of an address's local
// part (see [IsRoleAddress]), as the overrides adjust the list; "" for an
// address a person reads.
func (m *Matcher) RoleCategory(addr string) string {
	a, ok := vendors.ParseAddress(addr)
	if !ok {
		return ""
	}
	return roleCategory(m.rules.Load().roles, a.String())
}

// MatchAddress matches one address, alone (its role is [RoleAddress]). An
// address that is not one, the empty one included, is dropped as
// [ReasonInvalid].
func (m *Matcher) MatchAddress(ctx context.Context, addr string) (Result, error) {
	w := m.get()
	defer m.put(w)
	w.addAddress(addr)
	return m.run(ctx, w)
}

// errNil is returned for a nil message or event.
var errNil = errors.New("match: nil message or event")

// MatchMessage matches every participant of a message: from, sender (when
// it differs from from), to, cc, bcc and reply-to. A participant with no
// address is skipped. A nil message is an error.
func (m *Matcher) MatchMessage(ctx context.Context, msg *m365link.Message) (Result, error) {
	if msg == nil {
		return Result{}, errNil
	}
	w := m.get()
	defer m.put(w)
	w.addMessage(msg)
	return m.run(ctx, w)
}

// MatchEvent matches an event's organizer and attendees. A nil event is
// an error.
func (m *Matcher) MatchEvent(ctx context.Context, ev *m365link.Event) (Result, error) {
	if ev == nil {
		return Result{}, errNil
	}
	w := m.get()
	defer m.put(w)
	w.addEvent(ev)
	return m.run(ctx, w)
}

// MatchAddresses matches each address alone, as [Matcher.MatchAddress]
// does, and returns their results in order. It asks the directory once
// for all of them, so their lookups overlap: matching many addresses this
// way takes a fraction of the time of one call each, and a database
// directory answers in one round trip.
func (m *Matcher) MatchAddresses(ctx context.Context, addrs []string) ([]Result, error) {
	w := m.get()
	defer m.put(w)
	for _, a := range addrs {
		w.item()
		w.addAddress(a)
	}
	return m.runItems(ctx, w)
}

// MatchMessages matches each message as [Matcher.MatchMessage] does, and
// returns their results in order (results[i] is for msgs[i]), asking the
// directory once for all of them: the way to match a page of synced mail.
func (m *Matcher) MatchMessages(ctx context.Context, msgs []m365link.Message) ([]Result, error) {
	w := m.get()
	defer m.put(w)
	for i := range msgs {
		w.item()
		w.addMessage(&msgs[i])
	}
	return m.runItems(ctx, w)
}

// runItems matches w's items and returns their results.
func (m *Matcher) runItems(ctx context.Context, w *work) ([]Result, error) {
	if err := m.decideAll(ctx, w); err != nil {
		return nil, err
	}
	// One backing array for all the items' matches and one for their
	// drops, each item's a full slice of it (appending to one never
	// touches another's).
	ms, ds := counts(w.parts)
	matches, drops := make([]Match, 0, ms), make([]Dropped, 0, ds)
	out := make([]Result, len(w.items))
	for k, first := range w.items {
		end := len(w.parts)
		if k+1 < len(w.items) {
			end = w.items[k+1]
		}
		var res Result
		for i := first; i < end; i++ {
			if pt := &w.parts[i]; pt.o.reason != "" || pt.o.rule != "" {
				pt.o.add(&res, &pt.p, &matches, &drops)
			}
		}
		out[k] = res
	}
	return out, nil
}

// counts returns how many of parts matched and how many were dropped.
func counts(parts []part) (ms, ds int) {
	for i := range parts {
		switch o := &parts[i].o; {
		case o.reason != "":
			ds++
		case o.rule != "":
			ms++
		}
	}
	return ms, ds
}

// item starts a new item (address, message or event) in a batch.
func (w *work) item() { w.items = append(w.items, len(w.parts)) }

func (w *work) addAddress(addr string) {
	w.parts = append(w.parts, part{p: Participant{Role: RoleAddress, Address: addr}, first: len(w.parts)})
}

func (w *work) addMessage(msg *m365link.Message) {
	first, i := len(w.parts), 0
	if msg.From.Address != "" {
		w.add(first, i, RoleFrom, msg.From)
		i++
	}
	if msg.Sender.Address != "" && !strings.EqualFold(msg.Sender.Address, msg.From.Address) {
		w.add(first, i, RoleSender, msg.Sender)
		i++
	}
	for _, l := range [...]struct {
		role Role
		as   []m365link.EmailAddress
	}{{RoleTo, msg.To}, {RoleCc, msg.Cc}, {RoleBcc, msg.Bcc}, {RoleReplyTo, msg.ReplyTo}} {
		for _, a := range l.as {
			w.add(first, i, l.role, a)
			i++
		}
	}
}

func (w *work) addEvent(ev *m365link.Event) {
	first, i := len(w.parts), 0
	if ev.Organizer.Address != "" {
		w.add(first, i, RoleOrganizer, ev.Organizer)
		i++
	}
	for _, a := range ev.Attendees {
		w.add(first, i, RoleAttendee, a.EmailAddress)
		i++
	}
}

// work is the scratch space of one match, pooled.
type work struct {
	parts []part
	// items are the indexes in parts where each item of a batch starts.
	items []int
	keys  []vendors.Key
	hits  []vendors.Hit
	// sorted holds hits grouped by key; from[k]:from[k+1] are key k's.
	sorted   []vendors.Hit
	from, at []int
	// doms holds the domain keys of every participant (see part.doms).
	doms []int
	// itemKeys is where the keys of the item being prepared start.
	itemKeys int
	// stamp holds the directory's version before the lookup, when it has
	// one, and the rules' generation.
	stamp     stamp
	versioned bool
}

// part is a participant on its way through the rules.
type part struct {
	p Participant
	// first is the index in work.parts of its item's first participant.
	first int
	// h is the address's hash in the outcome cache.
	h uint64
	// done is set once the participant has an outcome without a lookup,
	// or repeats an earlier participant (o.reason is then empty and o.rule
	// too: it counted in its first role).
	done bool
	o    outcome
	addr vendors.Address
	// The rules' facts about the address: the pin that decides, the
	// internal domain it is at, the free-mail domain it is at and its
	// category, the role list's category of its local part.
	pin                    *pin
	internal, freemail     string
	freemailCat, roleCat   string
	idKey, contact         int // key indexes, -1 when not asked
	doms, ndoms, domainOff int // work.doms[doms:doms+ndoms] are the keys of the domain and its parents
}

func (m *Matcher) get() *work { return m.pool.Get().(*work) }

func (m *Matcher) put(w *work) {
	// Only what this match used: what lies beyond was cleared by the match
	// that used it.
	clear(w.parts)
	clear(w.keys)
	clear(w.hits)
	clear(w.sorted)
	if cap(w.parts) > 1<<14 || cap(w.keys) > 1<<16 {
		return // a huge batch: let its buffers go
	}
	w.parts, w.keys, w.hits, w.sorted, w.doms, w.items = w.parts[:0], w.keys[:0], w.hits[:0], w.sorted[:0], w.doms[:0], w.items[:0]
	m.pool.Put(w)
}

func (w *work) add(first, i int, role Role, a m365link.EmailAddress) {
	if a.Address == "" {
		return
	}
	w.parts = append(w.parts, part{p: Participant{Index: i, Role: role, Name: a.Name, Address: a.Address}, first: first})
}

// key returns the index of a key, adding it unless one of the last
// keyWindow keys of the same item (address, message or event) is the
// same. Participants of a message share domains, and pins share vendors;
// a key repeated further apart, or in another item of a batch, is asked
// twice, which costs less than a map to find it (asked again, its
// entries are in the CPU's cache), and less than comparing every key of
// a batch of distinct addresses with the 32 before it.
func (w *work) key(kind vendors.KeyKind, v string) int {
	k := vendors.Key{Kind: kind, Value: v}
	for i := len(w.keys) - 1; i >= max(w.itemKeys, len(w.keys)-keyWindow); i-- {
		if w.keys[i] == k {
			return i
		}
	}
	w.keys = append(w.keys, k)
	return len(w.keys) - 1
}

const keyWindow = 32

// run matches w's participants as one item and returns its result.
func (m *Matcher) run(ctx context.Context, w *work) (Result, error) {
	if err := m.decideAll(ctx, w); err != nil {
		return Result{}, err
	}
	return w.result(w.parts), nil
}

// decideAll applies the rules to w's participants: first what needs no
// lookup (invalid, repeated, cached), then one directory lookup for every
// remaining address, domain and pinned vendor of all of them, then the
// lookup's answers.
func (m *Matcher) decideAll(ctx context.Context, w *work) error {
	r := m.rules.Load()
	if m.versioned != nil {
		w.stamp, w.versioned = stamp{version: m.versioned.Version(), rules: r.gen}, true
	}
	for i := range w.parts {
		m.prepare(r, w, i, &w.parts[i])
	}
	if len(w.keys) == 0 {
		return nil
	}
	var err error
	if w.hits, err = m.dir.Lookup(ctx, w.hits[:0], w.keys); err != nil {
		return fmt.Errorf("match: directory lookup: %w", err)
	}
	w.group()
	for i := range w.parts {
		pt := &w.parts[i]
		if pt.done {
			continue
		}
		m.decide(r, w, pt)
		if w.versioned {
			m.outcomes.put(w.stamp, pt.h, pt.p.Address, &pt.p, &pt.o)
		}
	}
	return nil
}

// result returns the result of one item's decided participants.
func (w *work) result(parts []part) Result {
	// Exactly the slices the result needs: most results are of one
	// participant, and this is their one allocation but the address.
	if len(parts) == 1 {
		var res Result
		switch o := &parts[0].o; {
		case o.reason != "":
			res.Dropped = make([]Dropped, 1)
			o.drop(&res.Dropped[0], &parts[0].p)
		case o.rule != "":
			res.Matches = make([]Match, 1)
			o.match(&res.Matches[0], &parts[0].p)
		}
		return res
	}
	ms, ds := counts(parts)
	matches, drops := make([]Match, 0, ms), make([]Dropped, 0, ds)
	var res Result
	for i := range parts {
		pt := &parts[i]
		if pt.o.reason == "" && pt.o.rule == "" {
			continue // a repeated address: it counted in its first role
		}
		pt.o.add(&res, &pt.p, &matches, &drops)
	}
	return res
}

// prepare normalises a participant and decides what it can without the
// directory (not an address, a repeat, a cached outcome); it queues the
// keys the rest needs.
func (m *Matcher) prepare(r *rules, w *work, i int, pt *part) {
	pt.idKey, pt.contact = -1, -1
	if pt.first == i {
		w.itemKeys = len(w.keys) // a new item: see key
	}
	var cached answer
	// Only addresses cache: an Exchange DN never has an answer there.
	if w.versioned {
		pt.h = m.outcomes.hash(pt.p.Address)
	}
	if w.versioned && m.outcomes.get(w.stamp, pt.h, pt.p.Address, &cached) {
		pt.p.Normalized, pt.p.RoleAddress = cached.normalized, cached.role
		if pt.p.Normalized == "" {
			pt.p.Normalized = pt.p.Address
		}
		if !w.repeats(pt.first, i, pt.p.Normalized) {
			pt.o = cached.o
		}
		pt.done = true
		return
	}
	if isExchangeInternal(pt.p.Address) {
		pt.done, pt.o = true, outcome{reason: ReasonInternal}
		return
	}
	if m.prefetcher != nil && len(w.items) == 0 && i < 2 {
		// One item, and its first two participants: the lookup's first
		// round trip to memory then overlaps parsing. A batch's lookup,
		// or a long message's, overlaps many keys' loads already, and
		// hashing each key twice would only cost it.
		prefetch(m.prefetcher, pt.p.Address)
	}
	a, ok := vendors.ParseAddress(pt.p.Address)
	if !ok {
		pt.done, pt.o = true, outcome{reason: ReasonInvalid}
		return
	}
	n := a.String()
	if w.repeats(pt.first, i, n) {
		pt.done = true // counted in its first role
		return
	}
	pt.addr, pt.p.Normalized = a, n
	pt.roleCat = roleCategory(r.roles, n)
	pt.p.RoleAddress = pt.roleCat != ""
	// The domain rules, one filter check per candidate domain (a map
	// lookup for the few it passes): the domain, then its parents down to
	// the registrable domain.
	domain := a.Domain()
	pt.domainOff = len(n) - len(domain)
	reg := len(domain) - len(a.Registrable())
	var tree *pin
	var hbuf [16]uint64
	hs := r.filter.suffixes(domain, hbuf[:0])
	for off, label := 0, len(hs)-1; ; label-- {
		c := domain[off:]
		if f, ok := r.domainFacts(c, hs[label]); ok {
			if off == 0 && f.exact != nil {
				pt.pin = f.exact
			}
			if tree == nil {
				tree = f.tree
			}
			if f.internal && pt.internal == "" {
				pt.internal = c
			}
			if f.freemail != "" && pt.freemail == "" {
				pt.freemail, pt.freemailCat = c, f.freemail
			}
		}
		if off >= reg {
			break
		}
		off += strings.IndexByte(c, '.') + 1
	}
	if pt.pin == nil {
		pt.pin = tree
	}
	if p, ok := r.addrPins[n]; ok {
		pt.pin = p
	}
	switch {
	case pt.pin != nil && pt.pin.VendorID == "":
		pt.done, pt.o = true, outcome{reason: ReasonIgnored, keyOff: -1, pin: pt.pin}
	case pt.pin != nil:
		pt.idKey = w.key(vendors.KeyID, pt.pin.VendorID)
	default:
		pt.contact = w.key(vendors.KeyContact, n)
		if pt.internal == "" && pt.freemail == "" {
			pt.doms = len(w.doms)
			for off := 0; ; {
				c := domain[off:]
				w.doms = append(w.doms, w.key(vendors.KeyDomain, c))
				pt.ndoms++
				if off >= reg {
					break
				}
				off += strings.IndexByte(c, '.') + 1
			}
		}
	}
}

// prefetch has the directory begin to load what looking up an address's
// keys will read, taking the address as already normalised (most are):
// the address, its domain and the domain's parent. The loads overlap the
// work of parsing the address and applying the rules, instead of the
// lookup waiting for them afterwards; for an address that was not
// normalised, they are wasted.
func prefetch(pf vendors.Prefetcher, addr string) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return
	}
	domain := addr[at+1:]
	pf.Prefetch(vendors.Key{Kind: vendors.KeyContact, Value: addr})
	pf.Prefetch(vendors.Key{Kind: vendors.KeyDomain, Value: domain})
	if i := strings.IndexByte(domain, '.'); i > 0 && strings.IndexByte(domain[i+1:], '.') > 0 {
		pf.Prefetch(vendors.Key{Kind: vendors.KeyDomain, Value: domain[i+1:]})
	}
}

// repeats reports whether a participant of the same item before the i-th
// (from the first-th on) has the normalised address n.
func (w *work) repeats(first, i int, n string) bool {
	for j := first; j < i; j++ {
		if w.parts[j].p.Normalized == n {
			return true
		}
	}
	return false
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

// decide applies the rules that need the directory's answers, in order:
// a pin, the exact address as a known contact, the internal domains, the
// free-mail list, the domain and its parents.
func (m *Matcher) decide(r *rules, w *work, pt *part) {
	n := pt.p.Normalized
	o := &pt.o
	*o = outcome{keyOff: -1}
	var hits []vendors.Hit
	switch {
	case pt.pin != nil:
		o.rule, o.pin = RuleOverride, pt.pin
		if hits = w.hitsOf(pt.idKey); len(hits) == 0 {
			o.reason, o.id = ReasonUnknownVendor, pt.pin.VendorID
			return
		}
	case len(w.hitsOf(pt.contact)) > 0:
		o.rule, o.keyOff, hits = RuleContact, 0, w.hitsOf(pt.contact)
	case pt.internal != "":
		o.reason, o.keyOff = ReasonInternal, int16(len(n)-len(pt.internal))
		return
	case pt.freemail != "":
		o.reason, o.keyOff, o.category = ReasonFreemail, int16(len(n)-len(pt.freemail)), pt.freemailCat
		return
	default:
		for i, k := range w.doms[pt.doms : pt.doms+pt.ndoms] {
			if hs := w.hitsOf(k); len(hs) > 0 {
				hits = hs
				o.rule = RuleDomain
				if i > 0 {
					o.rule = RuleParentDomain
				}
				o.keyOff = int16(len(n) - len(w.keys[k].Value))
				break
			}
		}
		if hits == nil {
			o.reason = ReasonNoVendor
			return
		}
	}
	tracked, one := false, true
	o.id, o.name = hits[0].VendorID, hits[0].Name
	for _, h := range hits {
		tracked = tracked || h.Tracked
		if h.VendorID != o.id {
			one = false
		}
	}
	if !one {
		o.cands = candidates(hits)
		o.id, o.name = "", ""
	}
	switch {
	case r.trackedOnly && !tracked:
		o.reason = ReasonUntracked
	case !one:
		// Ambiguity is decided before tracking: with a tracked and an
		// untracked vendor on one domain, either may own the mail.
		o.reason = ReasonAmbiguous
	case pt.p.RoleAddress && r.dropRoles && (o.rule == RuleDomain || o.rule == RuleParentDomain):
		o.reason, o.category = ReasonRoleAddress, pt.roleCat
	}
	if o.reason != "" && one {
		o.cands = []string{o.id, o.name}
		o.id, o.name = "", ""
	}
}

// candidates returns the distinct vendors of hits, sorted by ID, as IDs
// followed by their names (one slice: see outcome.cands).
func candidates(hits []vendors.Hit) []string {
	var ids []vendors.Hit
	for _, h := range hits {
		if !slices.ContainsFunc(ids, func(g vendors.Hit) bool { return g.VendorID == h.VendorID }) {
			ids = append(ids, h)
		}
	}
	slices.SortFunc(ids, func(a, b vendors.Hit) int { return strings.Compare(a.VendorID, b.VendorID) })
	out := make([]string, 2*len(ids))
	for i, h := range ids {
		out[i], out[len(ids)+i] = h.VendorID, h.Name
	}
	return out
}

// outcome is what the rules decided for an address, whoever sent it in
// whatever role: a match (no reason; id is the vendor) or a drop. It holds
// no string of the caller's: the key is an offset into the normalised
// address (which the matcher owns, or is the caller's own string again)
// or a pin's key, and vendors' IDs and names are the directory's. So an
// outcome can be cached without pinning a caller's memory.
type outcome struct {
	reason Reason
	rule   Rule
	// keyOff is where the rule's key starts in the normalised address, or
	// -1 when the key is the pin's.
	keyOff int16
	// category is the free-mail or role list's category of a drop.
	category string
	pin      *pin
	id, name string
	// cands are the candidates' IDs followed by their names, for a drop.
	cands []string
}

// add appends the participant's match or drop to res, in the backing
// arrays matches and drops, which have room for it.
func (o *outcome) add(res *Result, p *Participant, matches *[]Match, drops *[]Dropped) {
	if o.reason != "" {
		var d *Dropped
		res.Dropped, d = extend(res.Dropped, drops)
		o.drop(d, p)
		return
	}
	var m *Match
	res.Matches, m = extend(res.Matches, matches)
	o.match(m, p)
}

// drop fills in d, zero, as the participant's drop.
func (o *outcome) drop(d *Dropped, p *Participant) {
	d.Participant, d.Reason, d.Rule, d.Key, d.Category = *p, o.reason, o.rule, o.key(p), o.category
	if o.pin != nil {
		d.Pin = o.pin.Pin
	}
	switch {
	case o.reason == ReasonUnknownVendor:
		d.Candidates = []string{o.id}
		d.CandidateNames = []string{""}
	case len(o.cands) > 0:
		c := slices.Clone(o.cands)
		k := len(c) / 2
		d.Candidates, d.CandidateNames = c[:k:k], c[k:]
	}
}

// match fills in m, zero, as the participant's match.
func (o *outcome) match(m *Match, p *Participant) {
	c := confidence(o.rule)
	if p.RoleAddress {
		c /= 2
	}
	m.VendorID, m.VendorName, m.Rule, m.Key, m.Confidence, m.Participant = o.id, o.name, o.rule, o.key(p), c, *p
	if o.pin != nil {
		m.Pin = o.pin.Pin
	}
}

// key returns the key of the rule that decided: a part of the normalised
// address, or the pin's key.
func (o *outcome) key(p *Participant) string {
	switch {
	case o.keyOff >= 0:
		return p.Normalized[o.keyOff:]
	case o.pin != nil:
		return o.pin.Key
	}
	return ""
}

// extend appends a zero T to *arr and returns s extended by it (a slice of
// the backing array *arr that ends where *arr does, its capacity cut to
// its length) and the new element.
func extend[T any](s []T, arr *[]T) ([]T, *T) {
	var zero T
	*arr = append(*arr, zero)
	n := len(*arr)
	return (*arr)[n-len(s)-1 : n : n], &(*arr)[n-1]
}
