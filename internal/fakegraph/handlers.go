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

// count adds @odata.count; call it before the first item. Graph puts it
// before the value; any order is JSON.
func (l *listWriter) count(n int) {
	l.b = append(l.b[:len(l.b)-len(`,"value":[`)], `,"@odata.count":`+strconv.Itoa(n)+`,"value":[`...)
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

// inMailbox runs f under the lock on the mailbox the route names.
func (s *Server) inMailbox(rc *reqCtx, f func(mb *mailbox) *result) *result {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, res := s.mailboxOf(rc)
	if res != nil {
		return res
	}
	return f(mb)
}

func (s *Server) notFound(rc *reqCtx) *result {
	return s.fail(rc, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

// resourceNotFound is the directory's 404 for key.
func (s *Server) resourceNotFound(rc *reqCtx, key string) *result {
	return s.fail(rc, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
}

func (s *Server) badSelect(rc *reqCtx, err error) *result {
	return s.fail(rc, http.StatusBadRequest, "RequestBroker--ParseUri", err.Error())
}

// renderCtx reads what rendering takes from the request; the mailbox read,
// if any, is the route's user's.
func (s *Server) renderCtx(rc *reqCtx) *renderCtx {
	out := &renderCtx{textBody: strings.EqualFold(rc.prefer["outlook.body-content-type"], "text")}
	out.loc, out.zoneName = zoneFor(rc.prefer["outlook.timezone"])
	if rc.user != nil {
		out.owner = rc.user.u.Mail
	}
	return out
}

func (s *Server) metadata(rc *reqCtx, fragment string) string {
	return s.origin(rc) + "/v1.0/$metadata#" + fragment
}

// Reading one entity or a page of a collection has one shape: $select is
// checked against the type's schema, the model is read under the lock, the
// items render with the collection's context and next link. The helpers
// below hold that shape; each handler says where its items are, in what
// order, and how they page.

// getEntity serves GET of one entity: find resolves it under the lock and
// names the entity set whose $entity is the response's @odata.context
// ("users", "users('{id}')/messages").
func getEntity[T any](s *Server, rc *reqCtx, sc *schema[T], find func() (x *T, set string, res *result)) *result {
	sel, err := sc.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, set, res := find()
	if res != nil {
		return res
	}
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, set+"/$entity"))
	b = append(b, ',')
	obj := sc.object(nil, false, x, sel, s.renderCtx(rc))
	return jsonResult(append(b, obj[1:]...))
}

// getInMailbox is getEntity for an entity of the route's mailbox, in the
// entity set users('{id}')/{set}.
func getInMailbox[T any](s *Server, rc *reqCtx, sc *schema[T], set string, find func(mb *mailbox) (*T, *result)) *result {
	return getEntity(s, rc, sc, func() (*T, string, *result) {
		mb, res := s.mailboxOf(rc)
		if res != nil {
			return nil, "", res
		}
		x, res := find(mb)
		return x, keyed("users", mb.userID) + "/" + set, res
	})
}

// paging is the page a mailbox collection request asks for: size items
// from skip, as Graph pages mail with $top and $skip.
type paging struct{ size, skip int }

// parsePaging reads $top (default def, at most 1000) and $skip.
func (s *Server) parsePaging(rc *reqCtx, def int) (paging, *result) {
	size, res := s.pageSize(rc, def, 1000)
	if res != nil {
		return paging{}, res
	}
	v := rc.opt("skip")
	if v == "" {
		return paging{size: size}, nil
	}
	skip, err := strconv.Atoi(v)
	if err != nil || skip < 0 {
		return paging{}, s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid $skip value '"+v+"'.")
	}
	return paging{size, skip}, nil
}

// itemPage is a mailbox collection as its handler finds it.
type itemPage[T any] struct {
	items   []*T     // all of them, in the order Graph lists them
	context string   // the @odata.context fragment
	path    string   // where a next link points
	opts    []string // the query options a next link repeats before $top and $skip
	count   bool     // render @odata.count
	// extra, when set, adds to each rendered item what its query expanded;
	// it gets the buffer ending with the item's closing brace.
	extra func(b []byte, x *T) []byte
}

// renderPage renders the page pg of p's items, and a next link when more
// remain.
func renderPage[T any](s *Server, rc *reqCtx, sc *schema[T], sel []int, pg paging, p itemPage[T]) *result {
	l := newList(s.metadata(rc, p.context))
	if p.count {
		l.count(len(p.items))
	}
	rest := p.items[min(pg.skip, len(p.items)):]
	rctx := s.renderCtx(rc)
	for _, x := range rest[:min(pg.size, len(rest))] {
		l.next()
		l.b = sc.object(l.b, false, x, sel, rctx)
		if p.extra != nil {
			l.b = p.extra(l.b, x)
		}
	}
	link := ""
	if len(rest) > pg.size {
		link = s.link(rc, p.path, slices.Concat(p.opts, []string{"$top", strconv.Itoa(pg.size), "$skip", strconv.Itoa(pg.skip + pg.size)})...)
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

// listItems serves a mailbox collection paged as Graph pages mail: $select
// is checked against sc, then by check (when set) the query options only
// this collection takes, then $top (default the server's page size) and
// $skip; under the lock find lists the route's items.
func listItems[T any](s *Server, rc *reqCtx, sc *schema[T], check func() *result, find func(mb *mailbox) (itemPage[T], *result)) *result {
	sel, err := sc.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	if check != nil {
		if res := check(); res != nil {
			return res
		}
	}
	pg, res := s.parsePaging(rc, s.cfg.pageSize)
	if res != nil {
		return res
	}
	return s.inMailbox(rc, func(mb *mailbox) *result {
		p, res := find(mb)
		if res != nil {
			return res
		}
		return renderPage(s, rc, sc, sel, pg, p)
	})
}

// listAll serves a mailbox collection Graph does not page: every item find
// lists.
func listAll[T any](s *Server, rc *reqCtx, sc *schema[T], find func(mb *mailbox) itemPage[T]) *result {
	sel, err := sc.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	return s.inMailbox(rc, func(mb *mailbox) *result {
		p := find(mb)
		return renderPage(s, rc, sc, sel, paging{size: len(p.items)}, p)
	})
}

// directory

// directoryRec is a user's or a group's record as the directory routes
// read it.
type directoryRec[T any] interface {
	object() *T
	tenantID() string
}

func (u *userRec) object() *User     { return &u.u }
func (u *userRec) tenantID() string  { return u.u.TenantID }
func (g *groupRec) object() *Group   { return &g.g }
func (g *groupRec) tenantID() string { return g.g.TenantID }

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

// directoryPage renders the page of a directory collection of n objects
// that $top and $skiptoken ask for: item appends the i-th; a next link
// points at path.
func (s *Server) directoryPage(rc *reqCtx, context, path string, n int, item func(b []byte, i int) []byte) *result {
	lo, hi, next, res := s.listPage(rc, n, 100, 999)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, context))
	for i := lo; i < hi; i++ {
		l.next()
		l.b = item(l.b, i)
	}
	link := ""
	if next != "" {
		link = s.link(rc, path, "$select", rc.opt("select"), "$top", rc.opt("top"), "$skiptoken", next)
	}
	return jsonResult(l.close("@odata.nextLink", link))
}

// listDirectory serves /users and /groups: the objects of the caller's
// tenant, in the order they were added. all reads the records under the
// lock.
func listDirectory[T any, R directoryRec[T]](s *Server, rc *reqCtx, sc *schema[T], set string, all func() []R) *result {
	sel, err := sc.parseSelect(rc.opt("select"))
	if err != nil {
		return s.badSelect(rc, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var objs []*T
	for _, r := range all() {
		if s.visible(rc, r.tenantID()) {
			objs = append(objs, r.object())
		}
	}
	return s.directoryPage(rc, set, set, len(objs), func(b []byte, i int) []byte {
		return sc.object(b, false, objs[i], sel, nil)
	})
}

func (s *Server) listUsers(rc *reqCtx) *result {
	if rc.opt("filter") != "" || rc.opt("search") != "" {
		return s.fail(rc, http.StatusBadRequest, "Request_UnsupportedQuery", "The fake does not support $filter or $search on users.")
	}
	return listDirectory(s, rc, userSchema, "users", func() []*userRec { return s.users })
}

func (s *Server) getUser(rc *reqCtx) *result {
	return getEntity(s, rc, userSchema, func() (*User, string, *result) {
		if u := rc.user; u != nil && s.visible(rc, u.u.TenantID) {
			return &u.u, "users", nil
		}
		return nil, "", s.resourceNotFound(rc, rc.route.userKey)
	})
}

func (s *Server) groupOf(rc *reqCtx) (*groupRec, *result) {
	key := rc.route.key(0)
	g := s.groupByID[strings.ToLower(key)]
	if g == nil || !s.visible(rc, g.g.TenantID) {
		return nil, s.resourceNotFound(rc, key)
	}
	return g, nil
}

func (s *Server) listGroups(rc *reqCtx) *result {
	return listDirectory(s, rc, groupSchema, "groups", func() []*groupRec { return s.groups })
}

func (s *Server) getGroup(rc *reqCtx) *result {
	return getEntity(s, rc, groupSchema, func() (*Group, string, *result) {
		g, res := s.groupOf(rc)
		if res != nil {
			return nil, "", res
		}
		return &g.g, "groups", nil
	})
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
	path := keyed("groups", g.g.ID) + "/" + canonical[rc.route.segs[1].name]
	if cast != "" {
		path += "/" + cast
	}
	return s.directoryObjects(rc, path, objs)
}

// directoryObjects renders a page of rendered users, groups or roles.
func (s *Server) directoryObjects(rc *reqCtx, path string, objs [][]byte) *result {
	return s.directoryPage(rc, "directoryObjects", path, len(objs), func(b []byte, i int) []byte { return append(b, objs[i]...) })
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
	return s.inMailbox(rc, func(mb *mailbox) *result {
		parent := mb.root
		path := keyed("users", mb.userID) + "/mailFolders"
		if len(rc.route.segs) > 2 {
			var res *result
			if parent, res = s.folderOf(rc, mb, 1); res != nil {
				return res
			}
			path = keyed("users", mb.userID) + "/" + keyed("mailFolders", parent.id) + "/childFolders"
		}
		// Unlike the item lists, folders read $top and $skip once the
		// parent is found.
		pg, res := s.parsePaging(rc, 10)
		if res != nil {
			return res
		}
		kids := make([]*folderView, len(parent.children))
		for i, c := range parent.children {
			kids[i] = &folderView{c}
		}
		return renderPage(s, rc, folderSchema, sel, pg, itemPage[folderView]{
			items: kids, context: path, path: path,
			opts: []string{"$select", rc.opt("select")},
		})
	})
}

func (s *Server) getFolder(rc *reqCtx) *result {
	return getInMailbox(s, rc, folderSchema, "mailFolders", func(mb *mailbox) (*folderView, *result) {
		f, res := s.folderOf(rc, mb, len(rc.route.segs)-1)
		if res != nil {
			return nil, res
		}
		if len(rc.route.segs) == 3 {
			// childFolders/{id} must name a child of the folder before it.
			if parent := mb.folder(rc.route.key(1)); parent == nil || f.parentID != parent.id {
				return nil, s.notFound(rc)
			}
		}
		return &folderView{f}, nil
	})
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
	var filter receivedFilter
	var byProp *propFilter
	check := func() (res *result) {
		if byProp, res = s.parsePropFilter(rc, rc.opt("filter")); byProp != nil || res != nil {
			return res
		}
		filter, res = s.parseFilter(rc, rc.opt("filter"))
		return res
	}
	return listItems(s, rc, messageSchema, check, func(mb *mailbox) (itemPage[Message], *result) {
		var folder *container
		path := keyed("users", mb.userID) + "/messages"
		if len(rc.route.segs) > 2 {
			var res *result
			if folder, res = s.folderOf(rc, mb, 1); res != nil {
				return itemPage[Message]{}, res
			}
			path = keyed("users", mb.userID) + "/" + keyed("mailFolders", folder.id) + "/messages"
		}
		var msgs []*Message
		for _, r := range mb.msgs {
			if (folder == nil || r.m.ParentFolderID == folder.id) && filter.match(&r.m) && s.mail.matchProp(byProp, r.m.ID) {
				msgs = append(msgs, &r.m)
			}
		}
		slices.SortFunc(msgs, func(a, b *Message) int {
			if c := b.ReceivedDateTime.Compare(a.ReceivedDateTime); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		return itemPage[Message]{
			items: msgs, context: path, path: path,
			opts:  []string{"$select", rc.opt("select"), "$filter", rc.opt("filter")},
			count: strings.EqualFold(rc.opt("count"), "true"),
		}, nil
	})
}

func (s *Server) getMessage(rc *reqCtx) *result {
	return getInMailbox(s, rc, messageSchema, "messages", func(mb *mailbox) (*Message, *result) {
		last := len(rc.route.segs) - 1
		r := mb.msgs[rc.route.key(last)]
		if r == nil {
			return nil, s.notFound(rc)
		}
		if last == 2 {
			if f := mb.folder(rc.route.key(1)); f == nil || f.id != r.m.ParentFolderID {
				return nil, s.notFound(rc)
			}
		}
		return &r.m, nil
	})
}

// calendars, events and contacts

// containerOf resolves the calendar or contact folder a route names in its
// second segment (calendars/{id}, contactFolders/{id}); a route that names
// none reads the store's primary one.
func containerOf[T any, P mailboxItem[T]](s *Server, rc *reqCtx, st *itemStore[T, P]) (*container, *result) {
	if !rc.route.segs[1].hasKey {
		return st.primary, nil
	}
	c := st.ref(rc.route.key(1))
	if c == nil {
		return nil, s.notFound(rc)
	}
	return c, nil
}

// itemOf resolves the item a route names in its second segment
// (events/{id}, contacts/{id}).
func itemOf[T any, P mailboxItem[T]](s *Server, rc *reqCtx, st *itemStore[T, P]) (*T, *result) {
	if r := st.items[rc.route.key(1)]; r != nil {
		return &r.item, nil
	}
	return nil, s.notFound(rc)
}

func (s *Server) ownerAddress(mb *mailbox) Address {
	u := s.userByKey[strings.ToLower(mb.userID)]
	return Address{Name: u.u.DisplayName, Address: u.u.Mail}
}

func (s *Server) listCalendars(rc *reqCtx) *result {
	return listAll(s, rc, calendarSchema, func(mb *mailbox) itemPage[calendarView] {
		return itemPage[calendarView]{
			items:   []*calendarView{{mb.events.primary, s.ownerAddress(mb)}},
			context: keyed("users", mb.userID) + "/calendars",
		}
	})
}

func (s *Server) getCalendar(rc *reqCtx) *result {
	return getInMailbox(s, rc, calendarSchema, "calendars", func(mb *mailbox) (*calendarView, *result) {
		c, res := containerOf(s, rc, mb.events)
		if res != nil {
			return nil, res
		}
		return &calendarView{c, s.ownerAddress(mb)}, nil
	})
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
	return listItems(s, rc, eventSchema, nil, func(mb *mailbox) (itemPage[Event], *result) {
		cal, res := containerOf(s, rc, mb.events)
		if res != nil {
			return itemPage[Event]{}, res
		}
		evs := slices.DeleteFunc(mb.events.in(cal), func(e *Event) bool { return !inView(e, start, end) })
		slices.SortFunc(evs, func(a, b *Event) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		return itemPage[Event]{
			items:   evs,
			context: keyed("users", mb.userID) + "/calendarView",
			path:    keyed("users", mb.userID) + "/" + keyed("calendars", cal.id) + "/calendarView",
			opts:    []string{"startDateTime", rc.opt("startdatetime"), "endDateTime", rc.opt("enddatetime"), "$select", rc.opt("select")},
		}, nil
	})
}

func (s *Server) getEvent(rc *reqCtx) *result {
	return getInMailbox(s, rc, eventSchema, "events", func(mb *mailbox) (*Event, *result) { return itemOf(s, rc, mb.events) })
}

func (s *Server) listContactFolders(rc *reqCtx) *result {
	return listAll(s, rc, contactFolderSchema, func(mb *mailbox) itemPage[contactFolderView] {
		primary := mb.contacts.primary
		folders := make([]*contactFolderView, 0, len(mb.contacts.containers))
		for _, c := range mb.contacts.containers {
			folders = append(folders, &contactFolderView{c})
		}
		// The default folder first, then the others by name.
		slices.SortFunc(folders, func(a, b *contactFolderView) int {
			if (a.c == primary) != (b.c == primary) {
				if a.c == primary {
					return -1
				}
				return 1
			}
			return strings.Compare(a.c.name, b.c.name)
		})
		return itemPage[contactFolderView]{items: folders, context: keyed("users", mb.userID) + "/contactFolders"}
	})
}

func (s *Server) listContacts(rc *reqCtx) *result {
	return listItems(s, rc, contactSchema, nil, func(mb *mailbox) (itemPage[Contact], *result) {
		folder, res := containerOf(s, rc, mb.contacts)
		if res != nil {
			return itemPage[Contact]{}, res
		}
		cs := mb.contacts.in(folder)
		slices.SortFunc(cs, func(a, b *Contact) int {
			if c := strings.Compare(a.DisplayName, b.DisplayName); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		path := keyed("users", mb.userID) + "/" + keyed("contactFolders", folder.id) + "/contacts"
		return itemPage[Contact]{items: cs, context: path, path: path, opts: []string{"$select", rc.opt("select")}}, nil
	})
}

func (s *Server) getContact(rc *reqCtx) *result {
	return getInMailbox(s, rc, contactSchema, "contacts", func(mb *mailbox) (*Contact, *result) { return itemOf(s, rc, mb.contacts) })
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
		return s.resourceNotFound(rc, key)
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
	path := "me/memberOf"
	if !me {
		path = keyed("users", u.u.ID) + "/memberOf"
	}
	if cast != "" {
		path += "/" + rc.route.segs[1].key
	}
	return s.directoryObjects(rc, path, objs)
}
