package sync

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// Policy is the admin's choice of mailboxes. Users are named by UPN or
// object ID, groups by object ID (membership is transitive). A mailbox
// syncs when it is allowed (AllMailboxes, Users or Groups) and not denied
// (DenyUsers or DenyGroups); deny wins.
type Policy struct {
	// AllMailboxes allows every mail-enabled member user of the tenant.
	AllMailboxes bool
	// Users allows users by UPN or object ID.
	Users []string
	// Groups allows the (transitive) user members of groups, by object ID.
	Groups []string
	// DenyUsers denies users by UPN or object ID.
	DenyUsers []string
	// DenyGroups denies the (transitive) user members of groups.
	DenyGroups []string
}

// SetPolicy replaces the policy; a running [Engine.Run] applies it at once:
// newly allowed mailboxes start, removed ones stop and the sink is told.
func (e *Engine) SetPolicy(p Policy) {
	e.mu.Lock()
	e.policy, e.repolicy = p, true
	e.mu.Unlock()
	e.poke()
}

type wireUser struct {
	ODataType string `json:"@odata.type"`
	ID        string `json:"id"`
	UPN       string `json:"userPrincipalName"`
	Name      string `json:"displayName"`
	Mail      string `json:"mail"`
	UserType  string `json:"userType"`
}

const userSelect = "id,userPrincipalName,displayName,mail,userType"

// Mailboxes resolves the policy against the tenant's directory. Users
// without a mail address (no Exchange Online mailbox) and guests are left
// out of AllMailboxes and group results; users named in Users are kept, so
// that their status can say why they do not sync. A user or group in
// Users or Groups that no longer exists is skipped (and logged): one stale
// entry must not stop every mailbox. A missing deny group is an error:
// without its members the policy cannot say whom it denies.
func (e *Engine) Mailboxes(ctx context.Context) ([]m365link.Mailbox, error) {
	e.mu.Lock()
	pol := e.policy
	e.mu.Unlock()
	tok := e.cfg.DirectoryToken
	if tok == nil {
		tok = e.cfg.Tokens(m365link.Mailbox{TenantID: e.cfg.TenantID})
	}
	list := func(path string, q url.Values) ([]wireUser, error) {
		var out []wireUser
		req := &graph.Request{Path: path, Query: q, Token: tok, Observe: e.observe}
		for req != nil {
			var page struct {
				Value    []wireUser `json:"value"`
				NextLink string     `json:"@odata.nextLink"`
			}
			if err := e.gc.JSON(ctx, req, &page); err != nil {
				return nil, err
			}
			out = append(out, page.Value...)
			req = nil
			if page.NextLink != "" {
				req = &graph.Request{URL: page.NextLink, Token: tok, Observe: e.observe}
			}
		}
		return out, nil
	}
	members := func(groups []string, deny bool) ([]wireUser, error) {
		var out []wireUser
		for _, g := range groups {
			us, err := list(graph.Path("groups", g, "transitiveMembers"), url.Values{"$select": {userSelect}, "$top": {"999"}})
			if errors.Is(err, m365link.ErrNotFound) && !deny {
				e.log.LogAttrs(ctx, slog.LevelWarn, "sync: policy names a group that does not exist", slog.String("group", g))
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, u := range us {
				if u.ODataType == "" || strings.EqualFold(u.ODataType, "#microsoft.graph.user") {
					out = append(out, u)
				}
			}
		}
		return out, nil
	}

	var allowed []wireUser
	if pol.AllMailboxes {
		us, err := list("/users", url.Values{"$select": {userSelect}, "$top": {"999"}})
		if err != nil {
			return nil, err
		}
		allowed = append(allowed, withMail(us)...)
	}
	for _, name := range pol.Users {
		var u wireUser
		err := e.gc.JSON(ctx, &graph.Request{Path: graph.Path("users", name), Query: url.Values{"$select": {userSelect}}, Token: tok, Observe: e.observe}, &u)
		if errors.Is(err, m365link.ErrNotFound) {
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: policy names a user that does not exist", slog.String("user", name))
			continue
		}
		if err != nil {
			return nil, err
		}
		allowed = append(allowed, u)
	}
	gm, err := members(pol.Groups, false)
	if err != nil {
		return nil, err
	}
	allowed = append(allowed, withMail(gm)...)

	denied := map[string]bool{}
	for _, d := range pol.DenyUsers {
		denied[strings.ToLower(d)] = true
	}
	dm, err := members(pol.DenyGroups, true)
	if err != nil {
		return nil, err
	}
	for _, u := range dm {
		denied[strings.ToLower(u.ID)] = true
	}
	seen := map[string]bool{}
	var out []m365link.Mailbox
	for _, u := range allowed {
		id := strings.ToLower(u.ID)
		if seen[id] || denied[id] || denied[strings.ToLower(u.UPN)] {
			continue
		}
		seen[id] = true
		out = append(out, m365link.Mailbox{TenantID: e.cfg.TenantID, UserID: u.ID, UPN: u.UPN, DisplayName: u.Name})
	}
	slices.SortFunc(out, func(a, b m365link.Mailbox) int { return strings.Compare(a.Key(), b.Key()) })
	return out, nil
}

func withMail(us []wireUser) []wireUser {
	out := us[:0:0]
	for _, u := range us {
		if u.Mail != "" && !strings.EqualFold(u.UserType, "Guest") {
			out = append(out, u)
		}
	}
	return out
}
