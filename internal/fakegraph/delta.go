package fakegraph

import (
	"net/http"
	"strconv"
	"time"
)

// Delta rounds.
//
// A round is a walk over one container's change log between two sequence
// numbers: (from, to]. An initial round has from = 0 and reports the items
// present; a later round reports the items changed since from, and
// tombstones for the items that left. The round's upper bound is the
// mailbox's sequence number when its first page is served (the snapshot),
// and each page's skiptoken records how far the walk got. Changes made
// while a round is in progress have seqs above the snapshot, and the item's
// older log entry stops being live: such an item is skipped for the rest of
// this round and reported by the next one. Nothing is lost, and an item
// seen earlier in a round may be seen again in the next (Graph allows
// both); no item is reported twice within one round.

// deltaEnv is what a delta walk needs besides the state.
type deltaEnv struct {
	kind     byte
	typeName string
	mb       *mailbox
	c        *container
	state    itemState
	base     string // the link path: users('..')/mailFolders('..')/messages/delta()
	limit    uint64 // items after which the round ends silently (0 = none)
	// render appends a live present item.
	render func(b []byte, id string) []byte
	// belongs, when set, says how the round reports a live present item;
	// without it each is reported.
	belongs func(id string) inRound
}

// inRound is how a delta round reports a live log entry.
type inRound int8

const (
	reported inRound = iota
	skipped          // filtered out, or a series master
	gone             // as removed: deleted, moved away, or an event out of the window
)

// how says how the round reports the live entry e.
func (env *deltaEnv) how(e logEntry) inRound {
	switch {
	case e.removed:
		return gone
	case env.belongs == nil:
		return reported
	}
	return env.belongs(e.id)
}

// startRound resolves the request's token (or its absence) to a state.
// initial fills the query options of a round started without one.
func (s *Server) startRound(rc *reqCtx, env *deltaEnv, initial func(*syncState) *result) (syncState, *result) {
	scope := scopeOf(env.mb.userID, env.c.id)
	tok := rc.opt("skiptoken")
	if tok == "" {
		tok = rc.opt("deltatoken")
	}
	if rc.syncFault != 0 {
		var loc string
		if st, err := s.decodeToken(tok); tok != "" && err == nil && st.scope == scope {
			loc = s.resetLocation(rc, env, st)
		} else {
			st := syncState{kind: env.kind}
			if res := initial(&st); res != nil {
				return st, res
			}
			loc = s.resetLocation(rc, env, st)
		}
		return syncState{}, s.syncReset(rc, rc.syncFault, loc)
	}
	if tok == "" {
		st := syncState{kind: env.kind, scope: scope, gen: env.mb.gen}
		if res := initial(&st); res != nil {
			return st, res
		}
		st.to = env.mb.seq
		return st, nil
	}
	st, err := s.decodeToken(tok)
	if err != nil || st.kind != env.kind || st.scope != scope {
		return st, s.fail(rc, http.StatusBadRequest, "syncStateNotFound", "The sync state could not be found. The delta token is unknown or does not belong to this collection.")
	}
	if st.gen != env.mb.gen {
		return st, s.syncReset(rc, SyncReset410, s.resetLocation(rc, env, st))
	}
	if st.to == 0 {
		st.to, st.after, st.emitted = env.mb.seq, st.from, 0
	}
	return st, nil
}

// resetLocation is the base request of a round with st's query options
// and an empty $deltatoken: where a 410 sends the client.
func (s *Server) resetLocation(rc *reqCtx, env *deltaEnv, st syncState) string {
	var opts []string
	if st.start != 0 || st.end != 0 {
		opts = append(opts,
			"startDateTime", time.Unix(st.start, 0).UTC().Format(time.RFC3339),
			"endDateTime", time.Unix(st.end, 0).UTC().Format(time.RFC3339))
	}
	opts = append(opts, "$select", st.sel)
	if st.filterOp != 0 {
		op := "ge"
		if st.filterOp == 't' {
			op = "gt"
		}
		opts = append(opts, "$filter", "receivedDateTime "+op+" "+time.Unix(0, st.filterAt).UTC().Format(time.RFC3339Nano))
	}
	opts = append(opts, "$deltatoken", "")
	return s.link(rc, env.base, opts...)
}

// deltaPage serves one page of a round.
func (s *Server) deltaPage(rc *reqCtx, env *deltaEnv, st syncState) *result {
	size, res := s.pageSize(rc, s.cfg.pageSize, 1000)
	if res != nil {
		return res
	}
	c := env.c
	l := newList(s.metadata(rc, "Collection("+env.typeName+")"))
	// Stale entries are skipped within a budget, so a page costs O(size)
	// even over a long run of them; an empty page with a nextLink is legal.
	budget := 4*size + 256
	i := c.after(st.after)
	capped := false
	for i < len(c.log) && c.log[i].seq <= st.to && l.n < size && budget > 0 && !capped {
		e := c.log[i]
		i++
		budget--
		st.after = e.seq
		if !c.live(e, env.state) {
			continue
		}
		switch env.how(e) {
		case reported:
			l.next()
			l.b = env.render(l.b, e.id)
			st.emitted++
			capped = env.limit > 0 && st.emitted >= env.limit
		case gone:
			if st.from > 0 { // an initial round has nothing to take back
				l.next()
				l.b = removed(l.b, env.typeName, e.id)
			}
		}
	}
	var out []byte
	if !capped && i < len(c.log) && c.log[i].seq <= st.to {
		out = l.close("@odata.nextLink", s.link(rc, env.base, "$skiptoken", s.encodeToken(st)))
	} else {
		next := st
		next.from, next.to, next.after, next.emitted = st.to, 0, 0, 0
		out = l.close("@odata.deltaLink", s.link(rc, env.base, "$deltatoken", s.encodeToken(next)))
	}
	res = jsonResult(out)
	if v := rc.prefer["odata.maxpagesize"]; v != "" {
		res.header.Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	return res
}

// keepSelect checks the $select of a round's first request against sc and
// keeps it in the round's state: the tokens carry it to every later page
// and round.
func keepSelect[T any](s *Server, rc *reqCtx, sc *schema[T], st *syncState) *result {
	if _, err := sc.parseSelect(rc.opt("select")); err != nil {
		return s.badSelect(rc, err)
	}
	st.sel = rc.opt("select")
	return nil
}

// messagesDelta serves GET /users/{id}/mailFolders/{id}/messages/delta.
// A $filter holds for the whole chain of rounds: later rounds report the
// changed messages that match it, and every removal.
func (s *Server) messagesDelta(rc *reqCtx) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		f, res := s.folderOf(rc, mb, 1)
		if res != nil {
			return res
		}
		env := &deltaEnv{
			kind: 'm', typeName: "message", mb: mb, c: f, state: mb.msgState,
			base: keyed("users", mb.userID) + "/" + keyed("mailFolders", f.id) + "/messages/delta()",
		}
		st, res := s.startRound(rc, env, func(st *syncState) *result {
			if res := keepSelect(s, rc, messageSchema, st); res != nil {
				return res
			}
			filter, res := s.parseFilter(rc, rc.opt("filter"))
			if res != nil {
				return res
			}
			st.filterOp = filter.op
			if filter.op != 0 {
				st.filterAt = filter.at.UnixNano()
			}
			return nil
		})
		if res != nil {
			return res
		}
		sel, err := messageSchema.parseSelect(st.sel)
		if err != nil {
			return s.badSelect(rc, err)
		}
		filter := receivedFilter{op: st.filterOp, at: time.Unix(0, st.filterAt)}
		if filter.op != 0 {
			env.limit = uint64(s.cfg.deltaCap)
		}
		env.belongs = func(id string) inRound {
			if filter.match(&mb.msgs[id].m) {
				return reported
			}
			return skipped
		}
		rctx := s.renderCtx(rc)
		env.render = func(b []byte, id string) []byte {
			return messageSchema.object(b, true, &mb.msgs[id].m, sel, rctx)
		}
		return s.deltaPage(rc, env, st)
	})
}

// eventsDelta serves GET /users/{id}[/calendars/{id}]/calendarView/delta.
// Like Graph it ignores $select, never returns series masters, and in a
// later round reports a changed event outside the window as removed.
func (s *Server) eventsDelta(rc *reqCtx) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		cal, res := containerOf(s, rc, mb.events)
		if res != nil {
			return res
		}
		base := keyed("users", mb.userID) + "/calendarView/delta()"
		if cal != mb.events.primary {
			base = keyed("users", mb.userID) + "/" + keyed("calendars", cal.id) + "/calendarView/delta()"
		}
		env := &deltaEnv{kind: 'e', typeName: "event", mb: mb, c: cal, state: mb.events.state, base: base}
		st, res := s.startRound(rc, env, func(st *syncState) *result {
			start, end, ok := parseWindow(rc)
			if !ok {
				return s.windowMissing(rc)
			}
			st.start, st.end = start.Unix(), end.Unix()
			return nil
		})
		if res != nil {
			return res
		}
		start, end := time.Unix(st.start, 0), time.Unix(st.end, 0)
		env.belongs = func(id string) inRound {
			switch e := &mb.events.items[id].item; {
			case e.Type == "seriesMaster":
				return skipped
			case inView(e, start, end):
				return reported
			}
			return gone
		}
		rctx := s.renderCtx(rc)
		env.render = func(b []byte, id string) []byte {
			return eventSchema.object(b, true, &mb.events.items[id].item, eventSchema.dflt, rctx)
		}
		return s.deltaPage(rc, env, st)
	})
}

// contactsDelta serves GET /users/{id}[/contactFolders/{id}]/contacts/delta.
func (s *Server) contactsDelta(rc *reqCtx) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		f, res := containerOf(s, rc, mb.contacts)
		if res != nil {
			return res
		}
		env := &deltaEnv{
			kind: 'c', typeName: "contact", mb: mb, c: f, state: mb.contacts.state,
			base: keyed("users", mb.userID) + "/" + keyed("contactFolders", f.id) + "/contacts/delta()",
		}
		st, res := s.startRound(rc, env, func(st *syncState) *result { return keepSelect(s, rc, contactSchema, st) })
		if res != nil {
			return res
		}
		sel, err := contactSchema.parseSelect(st.sel)
		if err != nil {
			return s.badSelect(rc, err)
		}
		env.render = func(b []byte, id string) []byte {
			return contactSchema.object(b, true, &mb.contacts.items[id].item, sel, nil)
		}
		return s.deltaPage(rc, env, st)
	})
}
