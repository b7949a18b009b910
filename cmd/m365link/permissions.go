package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
)

// featureNames are the short names the command takes for consent's features.
var featureNames = []struct {
	name string
	f    consent.Feature
}{
	{"mail", consent.MailSync},
	{"calendar", consent.CalendarSync},
	{"calendar-write", consent.TwoWayCalendar},
	{"send", consent.SendMail},
	{"contacts", consent.ContactsLookup},
	{"mailbox-selection", consent.MailboxPolicy},
	{"files", consent.Files},
	{"sign-in", consent.SignInAndOnline},
}

func featureList() string {
	s := make([]string, len(featureNames))
	for i, f := range featureNames {
		s[i] = f.name
	}
	return strings.Join(s, ", ")
}

// parseFeatures reads a comma-separated list of short names (or consent's
// own names, such as "mail sync").
func parseFeatures(s string) ([]consent.Feature, error) {
	var out []consent.Feature
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if part == "" {
			continue
		}
		found := false
		for _, f := range featureNames {
			if part == f.name || part == string(f.f) {
				out, found = append(out, f.f), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown feature %q (features: %s)", part, featureList())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no feature given (features: %s)", featureList())
	}
	return out, nil
}

// permissionJSON is one permission of --json.
type permissionJSON struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	AdminConsent bool     `json:"adminConsent"`
	Required     bool     `json:"required"`
	Features     []string `json:"features"`
	Reason       string   `json:"reason"`
}

// planJSON is the output of --json.
type planJSON struct {
	Type        string           `json:"type"`
	Cloud       string           `json:"cloud"`
	NeedsAdmin  bool             `json:"needsAdmin"`
	Scopes      []string         `json:"scopes"`
	Permissions []permissionJSON `json:"permissions"`
}

func (c *cli) permissions(_ context.Context, args []string) error {
	fs := c.flags("permissions", "[--type application|delegated] [--features mail,calendar,...] [--json|--markdown]",
		"Lists the Microsoft Graph permissions the chosen features need, with whether an admin must\n"+
			"grant them and why: what to add under \"API permissions\" of the app registration.\n"+
			"Features: "+featureList()+".", false)
	typ := fs.String("type", "application", "permission type: application (a service syncs the mailboxes the admin selects) or delegated (each user connects)")
	feats := fs.String("features", "mail,calendar", "comma-separated features")
	asJSON := fs.Bool("json", false, "print JSON")
	asMarkdown := fs.Bool("markdown", false, "print a Markdown table")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	var pt consent.PermissionType
	switch strings.ToLower(*typ) {
	case "application", "app", "app-only":
		pt = consent.Application
	case "delegated":
		pt = consent.Delegated
	default:
		fmt.Fprintf(c.stderr, "--type %q: want application or delegated\n", *typ)
		return errUsage
	}
	features, err := parseFeatures(*feats)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return errUsage
	}
	plan, err := consent.PlanFor(pt, features...)
	if err != nil {
		return err
	}
	cloud, err := cloudByName(c.getenv(envCloud))
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		out := planJSON{Type: string(plan.Type), Cloud: cloud.Name, NeedsAdmin: plan.NeedsAdmin(), Scopes: plan.Scopes(cloud, true), Permissions: []permissionJSON{}}
		for _, n := range plan.Needs {
			p := permissionJSON{Name: n.Name, Type: string(n.Type), AdminConsent: n.AdminConsent, Required: n.Required, Reason: n.Reason}
			for _, f := range n.Features {
				p.Features = append(p.Features, string(f))
			}
			out.Permissions = append(out.Permissions, p)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case *asMarkdown:
		return plan.RenderMarkdown(c.stdout)
	}
	if err := plan.RenderText(c.stdout); err != nil {
		return err
	}
	return c.planFooter(plan, cloud)
}

func (c *cli) planFooter(plan consent.Plan, cloud m365link.Cloud) error {
	admin := "no: users can consent for themselves"
	if plan.NeedsAdmin() {
		admin = "yes: run `m365link consent-url` and have a Global Administrator open the link"
	}
	_, err := fmt.Fprintf(c.stdout, "\nAdmin consent needed: %s\nScopes requested (%s cloud): %s\n", admin, cloud.Name, strings.Join(plan.Scopes(cloud, true), " "))
	return err
}
