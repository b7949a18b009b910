package fakegraph

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// listWriter renders a collection response.
type listWriter struct {
	b []byte
	n int
}

func newList(context string) *listWriter {
	l := &listWriter{b: make([]byte, 0, 4096)}
	l.b = append(l.b, `{"@odata.context":`...)
	l.b = appendString(l.b, context)
	l.b = append(l.b, `,"value":[`...)
	return l
}

// next prepares for one more item.
func (l *listWriter) next() {
	if l.n > 0 {
		l.b = append(l.b, ',')
	}
	l.n++
}

// close ends the collection; annotation is "@odata.nextLink" or
// "@odata.deltaLink", link may be empty.
func (l *listWriter) close(annotation, link string) []byte {
	l.b = append(l.b, ']')
	if link != "" {
		l.b = append(l.b, ',', '"')
		l.b = append(l.b, annotation...)
		l.b = append(l.b, '"', ':')
		l.b = appendString(l.b, link)
	}
	return append(l.b, '}')
}

// link builds an absolute link on the server's origin (or the foreign one
// a fault asks for). opts are name/value pairs; values are escaped, except
// tokens, which are URL-safe by construction.
func (s *Server) link(rc *reqCtx, path string, opts ...string) string {
	var sb strings.Builder
	sb.WriteString(s.origin(rc))
	sb.WriteString("/v1.0/")
	sb.WriteString(path)
	sep := byte('?')
	for i := 0; i+1 < len(opts); i += 2 {
		if opts[i+1] == "" && opts[i] != "$deltatoken" {
			continue
		}
		sb.WriteByte(sep)
		sep = '&'
		sb.WriteString(opts[i])
		sb.WriteByte('=')
		if opts[i] == "$skiptoken" || opts[i] == "$deltatoken" {
			sb.WriteString(opts[i+1])
		} else {
			sb.WriteString(strings.ReplaceAll(url.QueryEscape(opts[i+1]), "+", "%20"))
		}
	}
	return sb.String()
}

// keyed renders an OData key segment: name('key').
func keyed(name, key string) string {
	return name + "('" + strings.ReplaceAll(key, "'", "''") + "')"
}

// pageSize is $top, else Prefer: odata.maxpagesize, else def; at most max.
func (s *Server) pageSize(rc *reqCtx, def, max int) (int, *result) {
	n := def
	if v := rc.prefer["odata.maxpagesize"]; v != "" {
		if p, err := strconv.Atoi(v); err == nil && p > 0 {
			n = p
		}
	}
	if v := rc.opt("top"); v != "" {
		t, err := strconv.Atoi(v)
		if err != nil || t < 1 {
			return 0, s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid $top value '"+v+"'.")
		}
		n = t
	}
	return min(n, max), nil
}

func (s *Server) skip(rc *reqCtx) (int, *result) {
	v := rc.opt("skip")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid $skip value '"+v+"'.")
	}
	return n, nil
}

func (s *Server) visible(rc *reqCtx, tenantID string) bool {
	return rc.tenant == "" || strings.EqualFold(rc.tenant, tenantID)
}

// mailboxOf resolves the user segment of a mail, calendar or contacts
// route. Call with s.mu held.
func (s *Server) mailboxOf(rc *reqCtx) (*mailbox, *result) {
	u := rc.user
	if u == nil || !s.visible(rc, u.u.TenantID) {
		return nil, s.fail(rc, http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+rc.route.userKey+"' is invalid.")
	}
	if u.mb == nil {
		return nil, s.fail(rc, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	}
	return u.mb, nil
}

func (s *Server) notFound(rc *reqCtx) *result {
	return s.fail(rc, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func (s *Server) badSelect(rc *reqCtx, err error) *result {
	return s.fail(rc, http.StatusBadRequest, "RequestBroker--ParseUri", err.Error())
}

func (s *Server) renderCtx(rc *reqCtx, mb *mailbox) *renderCtx {
	out := &renderCtx{textBody: strings.EqualFold(rc.prefer["outlook.body-content-type"], "text")}
	out.loc, out.zoneName = zoneFor(rc.prefer["outlook.timezone"])
	if mb != nil {
		if u := s.userByKey[strings.ToLower(mb.userID)]; u != nil {
			out.owner = u.u.Mail
		}
	}
	return out
}

func (s *Server) metadata(rc *reqCtx, fragment string) string {
	return s.origin(rc) + "/v1.0/$metadata#" + fragment
}

// directory

// listPage returns the [offset, offset+size) window of n items and the
// skiptoken of the next page ("" on the last one).
func (s *Server) listPage(rc *reqCtx, n, def, max int) (lo, hi int, next string, res *result) {
	size, res := s.pageSize(rc, def, max)
	if res != nil {
		return 0, 0, "", res
	}
	if tok := rc.opt("skiptoken"); tok != "" {
		st, err := s.decodeToken(tok)
		if err != nil || st.kind != 'l' {
			return 0, 0, "", s.fail(rc, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
		}
		lo = int(st.after)
	}
	lo = min(lo, n)
	hi = min(lo+size, n)
	if hi < n {
		next = s.encodeToken(syncState{kind: 'l', after: uint64(hi)})
	}
	return lo, hi, next, nil
}

func (s *Server) listUsers(rc *reqCtx) *result {
	if rc.opt("filter") != "" || rc.opt("search") != "" {
		return s.fail(rc, http.StatusBadRequest, "Request_UnsupportedQuery", "The fake does not support $filter or $search on users.")
	}
	sel, err := userSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var users []*userRec
	for _, u := range s.users {
		if s.visible(rc, u.u.TenantID) {
			users = append(users, u)
		}
	}
	lo, hi, next, res := s.listPage(rc, len(users), 100, 999)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, "users"))
	for _, u := range users[lo:hi] {
		l.next()
		l.b = userSchema.object(l.b, false, &u.u, sel, nil)
	}
	link := ""
	if next != "" {
		link = s.link(rc, "users", "$select", rc.opt("select"), "$top", rc.opt("top"), "$skiptoken", next)
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

func (s *Server) getUser(rc *reqCtx) *result {
	sel, err := userSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := rc.user
	if u == nil || !s.visible(rc, u.u.TenantID) {
		return s.fail(rc, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+rc.route.userKey+"' does not exist or one of its queried reference-property objects are not present.")
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, "users/$entity"))
	b = append(b, ',')
	obj := userSchema.object(nil, false, &u.u, sel, nil)
	return jsonResult(append(b, obj[1:]...))
}

func (s *Server) groupOf(rc *reqCtx) (*groupRec, *result) {
	key := rc.route.key(0)
	g := s.groupByID[strings.ToLower(key)]
	if g == nil || !s.visible(rc, g.g.TenantID) {
		return nil, s.fail(rc, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	}
	return g, nil
}

func (s *Server) listGroups(rc *reqCtx) *result {
	sel, err := groupSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var groups []*groupRec
	for _, g := range s.groups {
		if s.visible(rc, g.g.TenantID) {
			groups = append(groups, g)
		}
	}
	lo, hi, next, res := s.listPage(rc, len(groups), 100, 999)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, "groups"))
	for _, g := range groups[lo:hi] {
		l.next()
		l.b = groupSchema.object(l.b, false, &g.g, sel, nil)
	}
	link := ""
	if next != "" {
		link = s.link(rc, "groups", "$select", rc.opt("select"), "$top", rc.opt("top"), "$skiptoken", next)
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

func (s *Server) getGroup(rc *reqCtx) *result {
	sel, err := groupSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, res := s.groupOf(rc)
	if res != nil {
		return res
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, "groups/$entity"))
	b = append(b, ',')
	obj := groupSchema.object(nil, false, &g.g, sel, nil)
	return jsonResult(append(b, obj[1:]...))
}

// memberSelect parses a $select for a mix of users and groups.
func memberSelect(v string) (users, groups []int, err error) {
	return selectEither(v, userSchema, groupSchema)
}

// selectable is a schema as selectEither sees it.
type selectable interface {
	prop(name string) (int, bool)
	defaults() []int
}

// selectEither parses a $select for a collection mixing two entity types:
// a property either type has is fine, and each renders the ones it has.
func selectEither(v string, a, b selectable) (ai, bi []int, err error) {
	if strings.TrimSpace(v) == "" {
		return a.defaults(), b.defaults(), nil
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "id") {
			continue
		}
		i, aok := a.prop(name)
		j, bok := b.prop(name)
		if !aok && !bok {
			return nil, nil, &selectErr{"directoryObject", name}
		}
		if aok {
			ai = append(ai, i)
		}
		if bok {
			bi = append(bi, j)
		}
	}
	slices.Sort(ai)
	slices.Sort(bi)
	return ai, bi, nil
}

// listMembers serves members and transitiveMembers, optionally cast to
// microsoft.graph.user or microsoft.graph.group.
func (s *Server) listMembers(rc *reqCtx) *result {
	usel, gsel, err := memberSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	transitive := rc.route.segs[1].name == "transitivemembers"
	cast := strings.ToLower(rc.route.segs[1].key)
	wantUsers := cast == "" || cast == "microsoft.graph.user"
	wantGroups := cast == "" || cast == "microsoft.graph.group"
	if !wantUsers && !wantGroups {
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rc.route.segs[1].key+"'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, res := s.groupOf(rc)
	if res != nil {
		return res
	}
	ids := g.members
	if transitive {
		ids = s.transitive(g)
	}
	var objs [][]byte
	for _, id := range ids {
		if u := s.userByKey[strings.ToLower(id)]; u != nil && wantUsers {
			objs = append(objs, userSchema.object(nil, true, &u.u, usel, nil))
		} else if sub := s.groupByID[strings.ToLower(id)]; sub != nil && wantGroups {
			objs = append(objs, groupSchema.object(nil, true, &sub.g, gsel, nil))
		}
	}
	lo, hi, next, res := s.listPage(rc, len(objs), 100, 999)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, "directoryObjects"))
	for _, o := range objs[lo:hi] {
		l.next()
		l.b = append(l.b, o...)
	}
	link := ""
	if next != "" {
		path := keyed("groups", g.g.ID) + "/" + canonical[rc.route.segs[1].name]
		if cast != "" {
			path += "/" + cast
		}
		link = s.link(rc, path, "$select", rc.opt("select"), "$top", rc.opt("top"), "$skiptoken", next)
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

// transitive lists a group's members, nested groups and their members,
// breadth first, each once.
func (s *Server) transitive(g *groupRec) []string {
	seen := map[string]bool{g.g.ID: true}
	var out []string
	queue := []*groupRec{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, id := range cur.members {
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, id)
			if sub := s.groupByID[strings.ToLower(id)]; sub != nil {
				queue = append(queue, sub)
			}
		}
	}
	return out
}

// mail folders and messages

func (s *Server) folderOf(rc *reqCtx, mb *mailbox, segIndex int) (*container, *result) {
	f := mb.folder(rc.route.key(segIndex))
	if f == nil {
		return nil, s.notFound(rc)
	}
	return f, nil
}

func (s *Server) listFolders(rc *reqCtx) *result {
	sel, err := folderSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	parent := mb.root
	path := keyed("users", mb.userID) + "/mailFolders"
	if len(rc.route.segs) > 2 {
		if parent, res = s.folderOf(rc, mb, 1); res != nil {
			return res
		}
		path = keyed("users", mb.userID) + "/" + keyed("mailFolders", parent.id) + "/childFolders"
	}
	size, res := s.pageSize(rc, 10, 1000)
	if res != nil {
		return res
	}
	skip, res := s.skip(rc)
	if res != nil {
		return res
	}
	kids := parent.children[min(skip, len(parent.children)):]
	l := newList(s.metadata(rc, path))
	for _, c := range kids[:min(size, len(kids))] {
		l.next()
		l.b = folderSchema.object(l.b, false, &folderView{c}, sel, nil)
	}
	link := ""
	if len(kids) > size {
		link = s.link(rc, path, "$select", rc.opt("select"), "$top", strconv.Itoa(size), "$skip", strconv.Itoa(skip+size))
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

func (s *Server) getFolder(rc *reqCtx) *result {
	sel, err := folderSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	f, res := s.folderOf(rc, mb, len(rc.route.segs)-1)
	if res != nil {
		return res
	}
	if len(rc.route.segs) == 3 {
		// childFolders/{id} must name a child of the folder before it.
		if parent := mb.folder(rc.route.key(1)); parent == nil || f.parentID != parent.id {
			return s.notFound(rc)
		}
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/mailFolders/$entity"))
	b = append(b, ',')
	obj := folderSchema.object(nil, false, &folderView{f}, sel, nil)
	return jsonResult(append(b, obj[1:]...))
}

// receivedFilter is the one $filter Graph allows on message delta:
// receivedDateTime ge|gt <instant>.
type receivedFilter struct {
	op byte // 'e' ge, 't' gt; 0 = none
	at time.Time
}

func (f receivedFilter) match(m *Message) bool {
	switch f.op {
	case 'e':
		return !m.ReceivedDateTime.Before(f.at)
	case 't':
		return m.ReceivedDateTime.After(f.at)
	}
	return true
}

func (s *Server) parseFilter(rc *reqCtx, v string) (receivedFilter, *result) {
	if strings.TrimSpace(v) == "" {
		return receivedFilter{}, nil
	}
	f := strings.Fields(v)
	if len(f) == 3 && strings.EqualFold(f[0], "receivedDateTime") {
		at, err := time.Parse(time.RFC3339Nano, f[2])
		if err == nil {
			switch strings.ToLower(f[1]) {
			case "ge":
				return receivedFilter{'e', at}, nil
			case "gt":
				return receivedFilter{'t', at}, nil
			}
		}
	}
	return receivedFilter{}, s.fail(rc, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter '"+v+"' is not supported.")
}

// listMessages serves a folder's messages (or all of the mailbox's),
// newest first, paged with $top and $skip as Graph pages them.
func (s *Server) listMessages(rc *reqCtx) *result {
	sel, err := messageSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	filter, res := s.parseFilter(rc, rc.opt("filter"))
	if res != nil {
		return res
	}
	size, res := s.pageSize(rc, s.cfg.pageSize, 1000)
	if res != nil {
		return res
	}
	skip, res := s.skip(rc)
	if res != nil {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	var folder *container
	path := keyed("users", mb.userID) + "/messages"
	if len(rc.route.segs) > 2 {
		if folder, res = s.folderOf(rc, mb, 1); res != nil {
			return res
		}
		path = keyed("users", mb.userID) + "/" + keyed("mailFolders", folder.id) + "/messages"
	}
	var msgs []*msgRec
	for _, r := range mb.msgs {
		if (folder == nil || r.m.ParentFolderID == folder.id) && filter.match(&r.m) {
			msgs = append(msgs, r)
		}
	}
	slices.SortFunc(msgs, func(a, b *msgRec) int {
		if c := b.m.ReceivedDateTime.Compare(a.m.ReceivedDateTime); c != 0 {
			return c
		}
		return strings.Compare(a.m.ID, b.m.ID)
	})
	page := msgs[min(skip, len(msgs)):]
	rctx := s.renderCtx(rc, mb)
	l := newList(s.metadata(rc, path))
	if strings.EqualFold(rc.opt("count"), "true") {
		// Graph puts @odata.count before the value; any order is JSON.
		l.b = append(l.b[:len(l.b)-len(`,"value":[`)], `,"@odata.count":`+strconv.Itoa(len(msgs))+`,"value":[`...)
	}
	for _, r := range page[:min(size, len(page))] {
		l.next()
		l.b = messageSchema.object(l.b, false, &r.m, sel, rctx)
	}
	link := ""
	if len(page) > size {
		link = s.link(rc, path, "$select", rc.opt("select"), "$filter", rc.opt("filter"), "$top", strconv.Itoa(size), "$skip", strconv.Itoa(skip+size))
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

func (s *Server) getMessage(rc *reqCtx) *result {
	sel, err := messageSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	last := len(rc.route.segs) - 1
	r := mb.msgs[rc.route.key(last)]
	if r == nil {
		return s.notFound(rc)
	}
	if last == 2 {
		if f := mb.folder(rc.route.key(1)); f == nil || f.id != r.m.ParentFolderID {
			return s.notFound(rc)
		}
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/messages/$entity"))
	b = append(b, ',')
	obj := messageSchema.object(nil, false, &r.m, sel, s.renderCtx(rc, mb))
	return jsonResult(append(b, obj[1:]...))
}

// calendars and events

func (s *Server) calendarOf(rc *reqCtx, mb *mailbox) (*container, *result) {
	if rc.route.segs[1].name != "calendars" {
		return mb.events.primary, nil
	}
	c := mb.events.ref(rc.route.key(1))
	if c == nil {
		return nil, s.notFound(rc)
	}
	return c, nil
}

func (s *Server) ownerAddress(mb *mailbox) Address {
	u := s.userByKey[strings.ToLower(mb.userID)]
	return Address{Name: u.u.DisplayName, Address: u.u.Mail}
}

func (s *Server) listCalendars(rc *reqCtx) *result {
	sel, err := calendarSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, keyed("users", mb.userID)+"/calendars"))
	l.next()
	l.b = calendarSchema.object(l.b, false, &calendarView{mb.events.primary, s.ownerAddress(mb)}, sel, nil)
	return jsonResult(l.close("", ""))
}

func (s *Server) getCalendar(rc *reqCtx) *result {
	sel, err := calendarSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	c, res := s.calendarOf(rc, mb)
	if res != nil {
		return res
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/calendars/$entity"))
	b = append(b, ',')
	obj := calendarSchema.object(nil, false, &calendarView{c, s.ownerAddress(mb)}, sel, nil)
	return jsonResult(append(b, obj[1:]...))
}

// parseWindow reads startDateTime and endDateTime; Graph takes an offset
// or Z, and reads a bare local time as UTC.
func parseWindow(rc *reqCtx) (start, end time.Time, ok bool) {
	parse := func(v string) (time.Time, bool) {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	start, ok1 := parse(rc.opt("startdatetime"))
	end, ok2 := parse(rc.opt("enddatetime"))
	return start, end, ok1 && ok2 && start.Before(end)
}

func (s *Server) windowMissing(rc *reqCtx) *result {
	return s.fail(rc, http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
}

// inView says whether an event belongs in a calendarView window: it
// overlaps it and is not a series master.
func inView(e *Event, start, end time.Time) bool {
	return e.Type != "seriesMaster" && e.Start.Before(end) && e.End.After(start)
}

func (s *Server) listCalendarView(rc *reqCtx) *result {
	start, end, ok := parseWindow(rc)
	if !ok {
		return s.windowMissing(rc)
	}
	sel, err := eventSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	size, res := s.pageSize(rc, s.cfg.pageSize, 1000)
	if res != nil {
		return res
	}
	skip, res := s.skip(rc)
	if res != nil {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	cal, res := s.calendarOf(rc, mb)
	if res != nil {
		return res
	}
	evs := slices.DeleteFunc(mb.events.in(cal), func(e *Event) bool { return !inView(e, start, end) })
	slices.SortFunc(evs, func(a, b *Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	path := keyed("users", mb.userID) + "/" + keyed("calendars", cal.id) + "/calendarView"
	page := evs[min(skip, len(evs)):]
	rctx := s.renderCtx(rc, mb)
	l := newList(s.metadata(rc, keyed("users", mb.userID)+"/calendarView"))
	for _, e := range page[:min(size, len(page))] {
		l.next()
		l.b = eventSchema.object(l.b, false, e, sel, rctx)
	}
	link := ""
	if len(page) > size {
		link = s.link(rc, path, "startDateTime", rc.opt("startdatetime"), "endDateTime", rc.opt("enddatetime"),
			"$select", rc.opt("select"), "$top", strconv.Itoa(size), "$skip", strconv.Itoa(skip+size))
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

func (s *Server) getEvent(rc *reqCtx) *result {
	sel, err := eventSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	r := mb.events.items[rc.route.key(1)]
	if r == nil {
		return s.notFound(rc)
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/events/$entity"))
	b = append(b, ',')
	obj := eventSchema.object(nil, false, &r.item, sel, s.renderCtx(rc, mb))
	return jsonResult(append(b, obj[1:]...))
}

// contacts

func (s *Server) contactFolderOf(rc *reqCtx, mb *mailbox) (*container, *result) {
	if rc.route.segs[1].name != "contactfolders" {
		return mb.contacts.primary, nil
	}
	c := mb.contacts.ref(rc.route.key(1))
	if c == nil {
		return nil, s.notFound(rc)
	}
	return c, nil
}

func (s *Server) listContactFolders(rc *reqCtx) *result {
	sel, err := contactFolderSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	folders := make([]*container, 0, len(mb.contacts.containers))
	for _, c := range mb.contacts.containers {
		folders = append(folders, c)
	}
	slices.SortFunc(folders, func(a, b *container) int {
		if (a == mb.contacts.primary) != (b == mb.contacts.primary) {
			if a == mb.contacts.primary {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	l := newList(s.metadata(rc, keyed("users", mb.userID)+"/contactFolders"))
	for _, c := range folders {
		l.next()
		l.b = contactFolderSchema.object(l.b, false, &contactFolderView{c}, sel, nil)
	}
	return jsonResult(l.close("", ""))
}

func (s *Server) listContacts(rc *reqCtx) *result {
	sel, err := contactSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	size, res := s.pageSize(rc, s.cfg.pageSize, 1000)
	if res != nil {
		return res
	}
	skip, res := s.skip(rc)
	if res != nil {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	folder, res := s.contactFolderOf(rc, mb)
	if res != nil {
		return res
	}
	cs := mb.contacts.in(folder)
	slices.SortFunc(cs, func(a, b *Contact) int {
		if c := strings.Compare(a.DisplayName, b.DisplayName); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	path := keyed("users", mb.userID) + "/" + keyed("contactFolders", folder.id) + "/contacts"
	page := cs[min(skip, len(cs)):]
	l := newList(s.metadata(rc, path))
	for _, c := range page[:min(size, len(page))] {
		l.next()
		l.b = contactSchema.object(l.b, false, c, sel, nil)
	}
	link := ""
	if len(page) > size {
		link = s.link(rc, path, "$select", rc.opt("select"), "$top", strconv.Itoa(size), "$skip", strconv.Itoa(skip+size))
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

func (s *Server) getContact(rc *reqCtx) *result {
	sel, err := contactSchema.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	r := mb.contacts.items[rc.route.key(1)]
	if r == nil {
		return s.notFound(rc)
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/contacts/$entity"))
	b = append(b, ',')
	obj := contactSchema.object(nil, false, &r.item, sel, nil)
	return jsonResult(append(b, obj[1:]...))
}

// listMemberOf serves a user's direct memberships, /users/{id}/memberOf
// and /me/memberOf: the groups that list the user as a member, then the
// directory roles the user holds, optionally cast to
// microsoft.graph.group or microsoft.graph.directoryRole.
func (s *Server) listMemberOf(rc *reqCtx) *result {
	cast := strings.ToLower(rc.route.segs[1].key)
	wantGroups := cast == "" || cast == "microsoft.graph.group"
	wantRoles := cast == "" || cast == "microsoft.graph.directoryrole"
	if !wantGroups && !wantRoles {
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rc.route.segs[1].key+"'.")
	}
	gsel, rsel, err := selectEither(rc.opt("select"), groupSchema, roleSchema)
	if err != nil {
		return s.badSelect(rc, err)
	}
	me := rc.route.segs[0].name == "me"
	if me && rc.me == "" {
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, key := rc.user, rc.route.userKey
	if me {
		u, key = s.userByKey[strings.ToLower(rc.me)], rc.me
	}
	if u == nil || !s.visible(rc, u.u.TenantID) {
		return s.fail(rc, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	}
	var objs [][]byte
	if wantGroups {
		for _, g := range s.groups {
			if slices.Contains(g.members, u.u.ID) {
				objs = append(objs, groupSchema.object(nil, true, &g.g, gsel, nil))
			}
		}
	}
	if wantRoles {
		for _, tmpl := range u.u.DirectoryRoles {
			r := directoryRole{tenantID: u.u.TenantID, templateID: tmpl}
			objs = append(objs, roleSchema.object(nil, true, &r, rsel, nil))
		}
	}
	lo, hi, next, res := s.listPage(rc, len(objs), 100, 999)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, "directoryObjects"))
	for _, o := range objs[lo:hi] {
		l.next()
		l.b = append(l.b, o...)
	}
	link := ""
	if next != "" {
		path := "me/memberOf"
		if !me {
			path = keyed("users", u.u.ID) + "/memberOf"
		}
		if cast != "" {
			path += "/" + rc.route.segs[1].key
		}
		link = s.link(rc, path, "$select", rc.opt("select"), "$top", rc.opt("top"), "$skiptoken", next)
	}
	return jsonResult(l.close("@odata.nextLink", link))
}
