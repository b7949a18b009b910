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
	// Mailboxes are allowed as they are, without reading the directory:
	// a host whose users each connected (delegated tokens, no app-only
	// permission) lists them here, e.g. from its tokens.Lister, and calls
	// [Engine.SetPolicy] when the list changes. A policy of Mailboxes alone
	// (DenyUsers aside) makes no Graph call at all.
	Mailboxes []m365link.Mailbox
}

// directoryFree reports whether resolving p needs no directory reads.
func (p Policy) directoryFree() bool {
	return !p.AllMailboxes && len(p.Users) == 0 && len(p.Groups) == 0 && len(p.DenyGroups) == 0
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
	var allowed []wireUser
	for _, mb := range pol.Mailboxes {
		if mb.UserID == "" || mb.TenantID != "" && !strings.EqualFold(mb.TenantID, e.cfg.TenantID) {
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: policy names a mailbox without a user ID or of another tenant; skipped", mailboxAttr(mb))
			continue
		}
		allowed = append(allowed, wireUser{ID: mb.UserID, UPN: mb.UPN, Name: mb.DisplayName})
	}
	denied := map[string]bool{}
	for _, u := range pol.DenyUsers {
		denied[strings.ToLower(u)] = true
	}
	if !pol.directoryFree() {
		d := directory{e: e, tok: e.cfg.DirectoryToken}
		if d.tok == nil {
			d.tok = e.cfg.Tokens(m365link.Mailbox{TenantID: e.cfg.TenantID})
		}
		more, err := d.allowed(ctx, pol)
		if err != nil {
			return nil, err
		}
		allowed = append(allowed, more...)
		if err := d.denied(ctx, pol, denied); err != nil {
			return nil, err
		}
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

// directory reads users and groups for a policy.
type directory struct {
	e   *Engine
	tok TokenSource
}

func (d directory) request(path string, q url.Values) *graph.Request {
	return &graph.Request{Path: path, Query: q, Token: d.tok, Observe: d.e.observe}
}

// allowed lists the users the policy allows: every mail-enabled member,
// the named users (kept even without a mailbox, so that their status can
// say so), and the mail-enabled members of the allowed groups.
func (d directory) allowed(ctx context.Context, pol Policy) ([]wireUser, error) {
	var out []wireUser
	if pol.AllMailboxes {
		us, err := graph.All[wireUser](ctx, d.e.gc, d.request("/users", url.Values{"$select": {userSelect}, "$top": {"999"}}))
		if err != nil {
			return nil, err
		}
		out = append(out, withMail(us)...)
	}
	for _, name := range pol.Users {
		var u wireUser
		err := d.e.gc.JSON(ctx, d.request(graph.Path("users", name), url.Values{"$select": {userSelect}}), &u)
		if errors.Is(err, m365link.ErrNotFound) {
			d.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: policy names a user that does not exist", slog.String("user", name))
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	gm, err := d.members(ctx, pol.Groups, false)
	if err != nil {
		return nil, err
	}
	return append(out, withMail(gm)...), nil
}

// denied adds the members of the deny groups to denied (IDs, lower-cased).
func (d directory) denied(ctx context.Context, pol Policy, denied map[string]bool) error {
	dm, err := d.members(ctx, pol.DenyGroups, true)
	if err != nil {
		return err
	}
	for _, u := range dm {
		denied[strings.ToLower(u.ID)] = true
	}
	return nil
}

// members lists the user members of groups, transitively. A missing
// allow group is skipped (and logged); a missing deny group is an error:
// without its members the policy cannot say whom it denies.
func (d directory) members(ctx context.Context, groups []string, deny bool) ([]wireUser, error) {
	var out []wireUser
	for _, g := range groups {
		us, err := graph.All[wireUser](ctx, d.e.gc, d.request(graph.Path("groups", g, "transitiveMembers"), url.Values{"$select": {userSelect}, "$top": {"999"}}))
		if errors.Is(err, m365link.ErrNotFound) && !deny {
			d.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: policy names a group that does not exist", slog.String("group", g))
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

func withMail(us []wireUser) []wireUser {
	out := us[:0:0]
	for _, u := range us {
		if u.Mail != "" && !strings.EqualFold(u.UserType, "Guest") {
			out = append(out, u)
		}
	}
	return out
}
