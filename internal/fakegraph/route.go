package fakegraph

import (
	"net/http"
	"strings"
)

// seg is one path segment: a name, and the key that follows it either in
// OData key syntax (users('id')) or as the next segment (users/id).
type seg struct {
	name   string // lower-cased
	key    string
	hasKey bool
}

type route struct {
	segs    []seg
	sig     string // lower-cased template, keys as {}: "users/{}/messages/{}"
	userKey string // the key of a leading users segment
}

// keyable collections take a key; delta, $count and $ref after one of them
// are functions, anything else is its key.
var keyable = map[string]bool{
	"users": true, "groups": true, "members": true, "transitivemembers": true,
	"mailfolders": true, "childfolders": true, "messages": true,
	"calendars": true, "events": true, "contactfolders": true, "contacts": true,
	"memberof": true, "subscriptions": true, "places": true,
}

var canonical = map[string]string{
	"users": "users", "groups": "groups", "members": "members", "transitivemembers": "transitiveMembers",
	"mailfolders": "mailFolders", "childfolders": "childFolders", "messages": "messages",
	"calendars": "calendars", "calendarview": "calendarView", "events": "events",
	"contactfolders": "contactFolders", "contacts": "contacts", "delta": "delta", "$batch": "$batch",
	"me": "me", "memberof": "memberOf", "subscriptions": "subscriptions",
}

func parseRoute(path string) route {
	var rt route
	for _, part := range strings.Split(path, "/") {
		if part == "" {
			continue
		}
		name, key, hasKey := splitSeg(part)
		lname := strings.ToLower(name)
		if n := len(rt.segs); n > 0 && !hasKey && name == part {
			last := &rt.segs[n-1]
			if keyable[last.name] && !last.hasKey && lname != "delta" && lname != "$count" && lname != "$ref" {
				last.key, last.hasKey = part, true
				continue
			}
		}
		rt.segs = append(rt.segs, seg{name: lname, key: key, hasKey: hasKey})
	}
	var sb strings.Builder
	for i, sg := range rt.segs {
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(sg.name)
		if sg.hasKey {
			sb.WriteString("/{}")
		}
	}
	rt.sig = sb.String()
	if len(rt.segs) > 0 && rt.segs[0].name == "users" && rt.segs[0].hasKey {
		rt.userKey = rt.segs[0].key
	}
	return rt
}

// splitSeg splits "name('key')" and "name()"; other segments come back
// whole as the name.
func splitSeg(part string) (name, key string, hasKey bool) {
	i := strings.IndexByte(part, '(')
	if i <= 0 || !strings.HasSuffix(part, ")") {
		return part, "", false
	}
	name, inner := part[:i], part[i+1:len(part)-1]
	if inner == "" {
		return name, "", false
	}
	if len(inner) >= 2 && inner[0] == '\'' && inner[len(inner)-1] == '\'' {
		inner = strings.ReplaceAll(inner[1:len(inner)-1], "''", "'")
	}
	return name, inner, true
}

// template is the route with canonical casing and {id} for keys, the form
// [MailboxStats.Routes] uses.
func (rt route) template() string {
	if len(rt.segs) == 0 {
		return "/"
	}
	var sb strings.Builder
	for _, sg := range rt.segs {
		sb.WriteByte('/')
		if c, ok := canonical[sg.name]; ok {
			sb.WriteString(c)
		} else {
			sb.WriteString(sg.name)
		}
		if sg.hasKey {
			sb.WriteString("/{id}")
		}
	}
	return sb.String()
}

func (rt route) key(i int) string { return rt.segs[i].key }

type handlerFunc func(s *Server, rc *reqCtx) *result

// routes maps a lower-cased signature to its GET handler.
var routes map[string]handlerFunc

func init() {
	routes = map[string]handlerFunc{
		"users":                                     (*Server).listUsers,
		"users/{}":                                  (*Server).getUser,
		"users/{}/memberof":                         (*Server).listMemberOf,
		"users/{}/memberof/{}":                      (*Server).listMemberOf, // type cast segment
		"me/memberof":                               (*Server).listMemberOf,
		"me/memberof/{}":                            (*Server).listMemberOf,
		"groups":                                    (*Server).listGroups,
		"groups/{}":                                 (*Server).getGroup,
		"groups/{}/members":                         (*Server).listMembers,
		"groups/{}/members/{}":                      (*Server).listMembers, // type cast segment
		"groups/{}/transitivemembers":               (*Server).listMembers,
		"groups/{}/transitivemembers/{}":            (*Server).listMembers,
		"users/{}/mailfolders":                      (*Server).listFolders,
		"users/{}/mailfolders/{}":                   (*Server).getFolder,
		"users/{}/mailfolders/{}/childfolders":      (*Server).listFolders,
		"users/{}/mailfolders/{}/childfolders/{}":   (*Server).getFolder,
		"users/{}/messages":                         (*Server).listMessages,
		"users/{}/messages/{}":                      (*Server).getMessage,
		"users/{}/mailfolders/{}/messages":          (*Server).listMessages,
		"users/{}/mailfolders/{}/messages/{}":       (*Server).getMessage,
		"users/{}/mailfolders/{}/messages/delta":    (*Server).messagesDelta,
		"users/{}/calendars":                        (*Server).listCalendars,
		"users/{}/calendars/{}":                     (*Server).getCalendar,
		"users/{}/calendarview":                     (*Server).listCalendarView,
		"users/{}/calendars/{}/calendarview":        (*Server).listCalendarView,
		"users/{}/calendarview/delta":               (*Server).eventsDelta,
		"users/{}/calendars/{}/calendarview/delta":  (*Server).eventsDelta,
		"users/{}/events/{}":                        (*Server).getEvent,
		"users/{}/contactfolders":                   (*Server).listContactFolders,
		"users/{}/contacts":                         (*Server).listContacts,
		"users/{}/contacts/{}":                      (*Server).getContact,
		"users/{}/contacts/delta":                   (*Server).contactsDelta,
		"users/{}/contactfolders/{}/contacts":       (*Server).listContacts,
		"users/{}/contactfolders/{}/contacts/delta": (*Server).contactsDelta,
	}
}

func (s *Server) route(rc *reqCtx) *result {
	sig := rc.route.sig
	if sig == "$batch" {
		if rc.r.Method != http.MethodPost {
			return s.fail(rc, http.StatusMethodNotAllowed, "BadRequest", "The $batch endpoint only accepts POST.")
		}
		return s.batch(rc)
	}
	if res := s.subscriptionRoute(rc); res != nil {
		return res
	}
	if h := calendarRoutes[rc.r.Method+" "+sig]; h != nil {
		return h(s, rc)
	}
	if h := methodRoutes[rc.r.Method+" "+sig]; h != nil {
		return h(s, rc)
	}
	if res := s.driveRoute(rc); res != nil {
		return res
	}
	h := routes[sig]
	if h == nil {
		seg := ""
		if n := len(rc.route.segs); n > 0 {
			seg = rc.route.segs[n-1].name
		}
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+seg+"'.")
	}
	if rc.r.Method != http.MethodGet {
		return s.fail(rc, http.StatusMethodNotAllowed, "BadRequest", "The fake serves "+rc.route.template()+" for GET only.")
	}
	return h(s, rc)
}
