package match

import (
	"embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	gosync "sync"

	"github.com/m365link/m365link/vendors"
)

// Built-in categories of the free-mail list: domains whose addresses never
// match a vendor by domain, only as known contacts or by a pin. The drop
// reason names the category ([Dropped.Category]).
const (
	// CategoryFreemail: webmail providers anyone can sign up to
	// (gmail.com, outlook.com, gmx.de).
	CategoryFreemail = "free-mail"
	// CategoryISP: mail that internet service providers and telecoms give
	// their customers (comcast.net, telstra.com, sky.com, orange.fr). Some
	// are also the provider's own business domain: a host whose vendor is
	// such a provider removes the entry ([ListChanges.Remove]).
	CategoryISP = "isp"
	// CategoryDisposable: throwaway inboxes (mailinator.com, yopmail.com).
	CategoryDisposable = "disposable"
)

// Built-in categories of the role list: local parts of mailboxes that a
// system rather than a person answers. A role address is flagged and
// counts for half, or is dropped ([Config.DropRoleAddresses]).
const (
	// CategoryNoReply: noreply, no-reply, donotreply, do-not-reply….
	CategoryNoReply = "no-reply"
	// CategorySystem: mailer-daemon, postmaster.
	CategorySystem = "system"
	// CategoryNotification: notification, notifications, notify.
	CategoryNotification = "notification"
	// CategoryAutoReply: auto-reply, autoreply, auto-confirm.
	CategoryAutoReply = "auto-reply"
	// CategoryBounce: bounce addresses and tagged return paths: bounce*,
	// prvs=*, msprvs1=*, btv1=*, SRS (srs0=*, srs1=*), unsubscribe.
	CategoryBounce = "bounce"
)

// ListChanges adjusts one of the matcher's built-in lists (see
// [Overrides.FreemailList] and [Overrides.RoleList]).
type ListChanges struct {
	// Add puts entries into categories: a built-in one, or one the host
	// names, e.g. {"free-mail": {"corp-mail.example"}, "partners-webmail":
	// {...}}. Entries the host adds apply even in a category that is Off.
	Add map[string][]string
	// Remove takes entries off the list, whichever built-in category has
	// them (a vendor whose domain is an ISP's, a local part that is a
	// person's name).
	Remove []string
	// Off turns built-in categories off as a whole, e.g. {"isp"}.
	Off []string
}

// IsZero reports whether l changes nothing.
func (l ListChanges) IsZero() bool { return len(l.Add) == 0 && len(l.Remove) == 0 && len(l.Off) == 0 }

//go:embed lists/*.txt
var listFiles embed.FS

// builtinDomains maps each domain of the embedded free-mail lists to its
// category (lists/<category>.txt; their headers name the sources).
var builtinDomains = gosync.OnceValue(func() map[string]string {
	set := make(map[string]string, 15000)
	for _, c := range []string{CategoryFreemail, CategoryISP, CategoryDisposable} {
		b, err := listFiles.ReadFile("lists/" + c + ".txt")
		if err != nil {
			panic("match: embedded list: " + err.Error())
		}
		for l := range strings.Lines(string(b)) {
			if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
				set[l] = c
			}
		}
	}
	return set
})

// builtinRoles are the role list's entries by category. An entry matches
// the whole local part, or its start followed by a separator or a digit
// (noreply-billing, notifications2); one ending in "*" matches any local
// part that starts with the rest (bounces+123, prvs=4f3a…).
var builtinRoles = map[string][]string{
	CategoryNoReply:      {"noreply", "no-reply", "no_reply", "no.reply", "donotreply", "do-not-reply", "do_not_reply", "do.not.reply"},
	CategorySystem:       {"mailer-daemon", "mailerdaemon", "postmaster"},
	CategoryNotification: {"notification", "notifications", "notify"},
	CategoryAutoReply:    {"auto-reply", "autoreply", "auto-confirm", "autoconfirm"},
	CategoryBounce:       {"bounce*", "prvs=*", "msprvs1=*", "btv1=*", "srs0=*", "srs1=*", "unsubscribe"},
}

// domainList is the free-mail list as the overrides adjust it.
type domainList struct {
	builtin map[string]string
	off     map[string]bool
	removed map[string]bool
	added   map[string]string
}

func newDomainList(l ListChanges, extra, removed []string) (*domainList, []string, error) {
	d := &domainList{builtin: builtinDomains(), off: map[string]bool{}, removed: map[string]bool{}, added: map[string]string{}}
	var keys []string
	for _, c := range l.Off {
		if c != CategoryFreemail && c != CategoryISP && c != CategoryDisposable {
			return nil, nil, fmt.Errorf("match: free-mail list: no built-in category %q to turn off", c)
		}
		d.off[c] = true
	}
	add := func(cat, s string) error {
		n, ok := vendors.NormalizeDomain(s)
		if !ok {
			return fmt.Errorf("match: free-mail override %q is not a domain", s)
		}
		if old, ok := d.added[n]; ok && old != cat {
			return fmt.Errorf("match: free-mail list: %q added to both %q and %q", n, old, cat)
		}
		d.added[n] = cat
		keys = append(keys, n)
		return nil
	}
	for _, s := range extra {
		if err := add(CategoryFreemail, s); err != nil {
			return nil, nil, err
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(l.Add)) {
		if cat == "" {
			return nil, nil, fmt.Errorf("match: free-mail list: a category needs a name")
		}
		for _, s := range l.Add[cat] {
			if err := add(cat, s); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, s := range slices.Concat(removed, l.Remove) {
		n, ok := vendors.NormalizeDomain(s)
		if !ok {
			return nil, nil, fmt.Errorf("match: free-mail override %q is not a domain", s)
		}
		if _, ok := d.added[n]; ok {
			return nil, nil, fmt.Errorf("match: %q is both added to and removed from the free-mail list", n)
		}
		d.removed[n] = true
		keys = append(keys, n)
	}
	return d, keys, nil
}

// category returns the category of a normalised domain, "" when the
// domain is not on the list.
func (d *domainList) category(domain string) string {
	if c, ok := d.added[domain]; ok {
		return c
	}
	c := d.builtin[domain]
	if c == "" || d.off[c] || d.removed[domain] {
		return ""
	}
	return c
}

// equal reports whether d and e list the same domains.
func (d *domainList) equal(e *domainList) bool {
	return maps.Equal(d.off, e.off) && maps.Equal(d.removed, e.removed) && maps.Equal(d.added, e.added)
}

// each calls fn for every domain on the list with its category.
func (d *domainList) each(fn func(domain, category string)) {
	for k := range d.builtin {
		if c := d.category(k); c != "" {
			fn(k, c)
		}
	}
	for k, c := range d.added {
		if _, ok := d.builtin[k]; !ok {
			fn(k, c)
		}
	}
}

// roleList is the role list as the overrides adjust it, indexed by the
// first byte of its entries.
type roleList struct {
	byFirst [256][]roleEntry
}

type roleEntry struct {
	word     string
	prefix   bool
	category string
}

func newRoleList(l ListChanges) (*roleList, error) {
	r := &roleList{}
	off := map[string]bool{}
	for _, c := range l.Off {
		if _, ok := builtinRoles[c]; !ok {
			return nil, fmt.Errorf("match: role list: no built-in category %q to turn off", c)
		}
		off[c] = true
	}
	norm := func(s string) (string, error) {
		w := strings.ToLower(strings.TrimSpace(s))
		if t := strings.TrimSuffix(w, "*"); t == "" || strings.ContainsAny(t, "@* \t\"") {
			return "", fmt.Errorf("match: role list: %q is not a local part", s)
		}
		return w, nil
	}
	removed := map[string]bool{}
	for _, s := range l.Remove {
		w, err := norm(s)
		if err != nil {
			return nil, err
		}
		removed[w] = true
	}
	add := func(w, cat string) {
		e := roleEntry{word: strings.TrimSuffix(w, "*"), prefix: strings.HasSuffix(w, "*"), category: cat}
		r.byFirst[e.word[0]] = append(r.byFirst[e.word[0]], e)
	}
	for _, cat := range slices.Sorted(maps.Keys(l.Add)) {
		if cat == "" {
			return nil, fmt.Errorf("match: role list: a category needs a name")
		}
		for _, s := range l.Add[cat] {
			w, err := norm(s)
			if err != nil {
				return nil, err
			}
			if removed[w] {
				return nil, fmt.Errorf("match: %q is both added to and removed from the role list", w)
			}
			add(w, cat)
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(builtinRoles)) {
		if off[cat] {
			continue
		}
		for _, w := range builtinRoles[cat] {
			if !removed[w] {
				add(w, cat)
			}
		}
	}
	return r, nil
}

var defaultRoles = gosync.OnceValue(func() *roleList {
	r, _ := newRoleList(ListChanges{})
	return r
})

// category returns the category of a normalised local part, "" when it is
// not a role.
func (r *roleList) category(local string) string {
	if local == "" {
		return ""
	}
	for _, e := range r.byFirst[local[0]] {
		if len(local) < len(e.word) || local[:len(e.word)] != e.word {
			continue
		}
		if e.prefix || len(local) == len(e.word) || strings.IndexByte("-._0123456789", local[len(e.word)]) >= 0 {
			return e.category
		}
	}
	return ""
}

// IsRoleAddress reports whether an address's local part names a system
// rather than a person, by the built-in role list: noreply@, no-reply@,
// mailer-daemon@, postmaster@, notifications@, bounce…@ and tagged return
// paths (prvs=, SRS). Case and a plus-tag do not matter. A matcher uses
// the list as its overrides adjust it ([Overrides.RoleList]); see
// [Matcher.RoleCategory].
func IsRoleAddress(addr string) bool {
	return roleCategory(defaultRoles(), addr) != ""
}

func roleCategory(r *roleList, addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return ""
	}
	local := addr[:at]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if !isLowerASCII(local) {
		local = strings.ToLower(local)
	}
	return r.category(local)
}

func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return false
		}
	}
	return true
}
