package consent

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"

	"github.com/m365link/m365link"
)

// PermissionType is how a permission is granted.
type PermissionType string

// Permission types.
const (
	// Delegated permissions act as the signed-in user, within what the user may do.
	Delegated PermissionType = "delegated"
	// Application permissions act as the app itself, for every mailbox the
	// tenant's admin allows (app-only, client credentials).
	Application PermissionType = "application"
)

// Permission is one Microsoft Graph permission the library can use, in one
// of its two forms.
type Permission struct {
	// Name is the permission as Entra ID shows it: "Mail.Read", "offline_access".
	Name string
	Type PermissionType
	// AdminConsent reports whether only an admin can grant it.
	AdminConsent bool
	// Reason says, in plain words for an admin, why the library asks for it.
	Reason string
}

// Scope returns the OAuth scope to request for a delegated permission in
// cloud: the cloud's Graph scope for a Graph permission
// ("https://graph.microsoft.us/Mail.Read"), the bare name for the OpenID
// Connect ones.
func (p Permission) Scope(cloud m365link.Cloud) string {
	switch p.Name {
	case "openid", "profile", "email", "offline_access":
		return p.Name
	}
	return cloud.Scope(p.Name)
}

// catalogue lists every permission the library may request. Admin-consent
// requirements follow the Microsoft Graph permissions reference.
var catalogue = []Permission{
	{"Mail.Read", Delegated, false, "Read the mail of the signed-in user, so that correspondence with vendors appears next to their records."},
	{"Mail.Read", Application, true, "Read the mail of the mailboxes the admin selects, without each user connecting."},
	{"Mail.ReadBasic", Delegated, false, "Read senders, recipients, subjects and dates of the user's mail, without bodies or attachments (a narrower alternative to Mail.Read)."},
	{"Mail.ReadBasic", Application, true, "Read senders, recipients, subjects and dates in the selected mailboxes, without bodies or attachments."},
	{"Mail.Send", Delegated, false, "Send mail to vendors as the signed-in user; it appears in their Sent Items."},
	{"Mail.Send", Application, true, "Send mail as any user or shared mailbox the admin allows."},
	{"Calendars.Read", Delegated, false, "Read the user's calendar, so that meetings with vendors appear next to their records."},
	{"Calendars.Read", Application, true, "Read the calendars of the selected mailboxes."},
	{"Calendars.ReadWrite", Delegated, false, "Create, update and cancel meetings with vendors in the user's calendar."},
	{"Calendars.ReadWrite", Application, true, "Create, update and cancel meetings in the selected mailboxes' calendars."},
	{"Contacts.Read", Delegated, false, "Read the user's Outlook contacts, to recognise vendor contacts by address."},
	{"Contacts.Read", Application, true, "Read the Outlook contacts of the selected mailboxes."},
	{"MailboxSettings.Read", Delegated, false, "Read the user's time zone and working hours, to propose meeting times in their own time."},
	{"MailboxSettings.Read", Application, true, "Read time zones and working hours of the selected mailboxes."},
	{"User.Read", Delegated, false, "Sign the user in and read their basic profile (name, email address)."},
	{"User.Read.All", Delegated, true, "List the organisation's users, so the admin can choose which mailboxes sync."},
	{"User.Read.All", Application, true, "List the organisation's users and mailboxes, so the admin can choose which mailboxes sync."},
	{"Group.Read.All", Delegated, true, "Read group memberships, so mailboxes can be selected by group."},
	{"Group.Read.All", Application, true, "Read group memberships, so mailboxes can be selected by group."},
	{"Files.Read.All", Delegated, false, "Read files the user can access, to link shared documents (quotes, contracts) to vendors."},
	{"Files.Read.All", Application, true, "Read files in the organisation's OneDrive and SharePoint, to link documents to vendors."},
	{"Sites.Read.All", Delegated, false, "Read SharePoint sites the user can access, to find vendor document libraries."},
	{"Sites.Read.All", Application, true, "Read every SharePoint site, to find vendor document libraries."},
	{"offline_access", Delegated, false, "Keep the connection working after the user closes the browser (a refresh token), so sync runs in the background."},
	{"openid", Delegated, false, "Sign the user in."},
	{"profile", Delegated, false, "Show the user's name after they connect."},
	{"email", Delegated, false, "Show the user's email address after they connect."},
}

// Lookup returns the catalogue entry for a permission in one form.
func Lookup(name string, t PermissionType) (Permission, bool) {
	for _, p := range catalogue {
		if strings.EqualFold(p.Name, name) && p.Type == t {
			return p, true
		}
	}
	return Permission{}, false
}

// Catalogue returns every permission the library knows, in a stable order.
func Catalogue() []Permission { return slices.Clone(catalogue) }

// Feature is something a host product does with Microsoft 365, and the
// permissions it needs in each form.
type Feature string

// Features a host can enable.
const (
	MailSync        Feature = "mail sync"
	CalendarSync    Feature = "calendar sync"
	TwoWayCalendar  Feature = "two-way calendar"
	SendMail        Feature = "send mail"
	Files           Feature = "files"
	MailboxPolicy   Feature = "mailbox selection" // choose mailboxes by user or group (app-only)
	ContactsLookup  Feature = "contacts"
	SignInAndOnline Feature = "sign-in" // always included for delegated access
)

// Need is one permission a feature asks for.
type Need struct {
	Permission
	// Required is false for permissions the feature works without (with less).
	Required bool
	// Features lists the features asking for it.
	Features []Feature
}

type featureNeed struct {
	name     string
	required bool
}

var featureNeeds = map[Feature]map[PermissionType][]featureNeed{
	SignInAndOnline: {Delegated: {{"openid", true}, {"profile", true}, {"offline_access", true}, {"User.Read", true}, {"email", false}}},
	MailSync: {
		Delegated:   {{"Mail.Read", true}, {"MailboxSettings.Read", false}},
		Application: {{"Mail.Read", true}, {"User.Read.All", true}},
	},
	CalendarSync: {
		Delegated:   {{"Calendars.Read", true}, {"MailboxSettings.Read", false}},
		Application: {{"Calendars.Read", true}, {"User.Read.All", true}},
	},
	TwoWayCalendar: {
		Delegated:   {{"Calendars.ReadWrite", true}, {"MailboxSettings.Read", true}},
		Application: {{"Calendars.ReadWrite", true}, {"MailboxSettings.Read", true}, {"User.Read.All", true}},
	},
	SendMail: {
		Delegated:   {{"Mail.Send", true}},
		Application: {{"Mail.Send", true}},
	},
	Files: {
		Delegated:   {{"Files.Read.All", true}, {"Sites.Read.All", false}},
		Application: {{"Files.Read.All", true}, {"Sites.Read.All", false}},
	},
	MailboxPolicy: {
		Application: {{"User.Read.All", true}, {"Group.Read.All", false}},
		Delegated:   {{"User.Read.All", true}, {"Group.Read.All", false}},
	},
	ContactsLookup: {
		Delegated:   {{"Contacts.Read", true}},
		Application: {{"Contacts.Read", true}},
	},
}

// implied lists permissions made redundant by a broader one in the same set.
var implied = map[string]string{
	"Mail.ReadBasic": "Mail.Read",
	"Calendars.Read": "Calendars.ReadWrite",
	"User.Read":      "", // never implied: sign-in needs it even beside User.Read.All
}

// Plan is the permission set a host's features need in one form.
type Plan struct {
	Type  PermissionType
	Needs []Need
}

// PlanFor computes the minimal permission set for features in form t:
// the union of what they need, a permission required by any feature is
// required, and a permission implied by a broader one in the set (Mail.Read
// covers Mail.ReadBasic, Calendars.ReadWrite covers Calendars.Read) is
// dropped. Delegated plans always include sign-in.
func PlanFor(t PermissionType, features ...Feature) (Plan, error) {
	if t == Delegated && !slices.Contains(features, SignInAndOnline) {
		features = append([]Feature{SignInAndOnline}, features...)
	}
	byName := map[string]*Need{}
	var order []string
	for _, f := range features {
		needs, ok := featureNeeds[f]
		if !ok {
			return Plan{}, fmt.Errorf("consent: unknown feature %q", f)
		}
		for _, fn := range needs[t] {
			n := byName[fn.name]
			if n == nil {
				p, ok := Lookup(fn.name, t)
				if !ok {
					return Plan{}, fmt.Errorf("consent: %s has no %s form", fn.name, t)
				}
				n = &Need{Permission: p}
				byName[fn.name] = n
				order = append(order, fn.name)
			}
			n.Required = n.Required || fn.required
			if !slices.Contains(n.Features, f) {
				n.Features = append(n.Features, f)
			}
		}
	}
	plan := Plan{Type: t}
	for _, name := range order {
		if broader := implied[name]; broader != "" && byName[broader] != nil {
			b := byName[broader]
			b.Required = b.Required || byName[name].Required
			for _, f := range byName[name].Features {
				if !slices.Contains(b.Features, f) {
					b.Features = append(b.Features, f)
				}
			}
			continue
		}
		plan.Needs = append(plan.Needs, *byName[name])
	}
	return plan, nil
}

// Scopes returns the OAuth scopes to request in cloud: for a delegated
// plan, each permission's scope (required ones, plus optional ones when
// withOptional); for an application plan, the cloud's Graph ".default"
// ([m365link.Cloud.AppScope]), since application permissions are granted
// as configured on the app registration.
func (p Plan) Scopes(cloud m365link.Cloud, withOptional bool) []string {
	if p.Type == Application {
		return []string{cloud.AppScope()}
	}
	var out []string
	for _, n := range p.Needs {
		if n.Required || withOptional {
			out = append(out, n.Scope(cloud))
		}
	}
	return out
}

// GraphScopes returns only the Graph scopes of Scopes, without the OpenID
// Connect ones: what a token source asks for on refresh.
func (p Plan) GraphScopes(cloud m365link.Cloud, withOptional bool) []string {
	prefix := cloud.Scope("") // the Graph resource and a slash
	var out []string
	for _, s := range p.Scopes(cloud, withOptional) {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// NeedsAdmin reports whether any permission of the plan needs an admin.
func (p Plan) NeedsAdmin() bool {
	for _, n := range p.Needs {
		if n.AdminConsent {
			return true
		}
	}
	return false
}

func (n Need) features() string {
	s := make([]string, len(n.Features))
	for i, f := range n.Features {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// RenderText writes the plan as an aligned plain-text table.
func (p Plan) RenderText(w io.Writer) error {
	rows := [][]string{{"Permission", "Type", "Admin consent", "Needed", "Why"}}
	for _, n := range p.Needs {
		rows = append(rows, []string{n.Name, string(n.Type), yesNo(n.AdminConsent, "yes", "no"), yesNo(n.Required, "required", "optional"), n.Reason})
	}
	widths := make([]int, 4)
	for _, r := range rows {
		for i := range widths {
			widths[i] = max(widths[i], len(r[i]))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i := range widths {
			fmt.Fprintf(&b, "%-*s  ", widths[i], r[i])
		}
		b.WriteString(r[4])
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderMarkdown writes the plan as a Markdown table.
func (p Plan) RenderMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| Permission | Type | Admin consent | Needed | For | Why |\n|---|---|---|---|---|---|\n")
	for _, n := range p.Needs {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", n.Name, n.Type, yesNo(n.AdminConsent, "yes", "no"),
			yesNo(n.Required, "required", "optional"), n.features(), strings.ReplaceAll(n.Reason, "|", `\|`))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderHTML writes the plan as an HTML table (escaped; class names let the
// host style it).
func (p Plan) RenderHTML(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`<table class="m365link-permissions"><thead><tr><th>Permission</th><th>Type</th><th>Admin consent</th><th>Needed</th><th>For</th><th>Why</th></tr></thead><tbody>`)
	for _, n := range p.Needs {
		fmt.Fprintf(&b, `<tr class="%s"><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
			yesNo(n.Required, "required", "optional"), html.EscapeString(n.Name), html.EscapeString(string(n.Type)), yesNo(n.AdminConsent, "yes", "no"),
			yesNo(n.Required, "required", "optional"), html.EscapeString(n.features()), html.EscapeString(n.Reason))
	}
	b.WriteString("</tbody></table>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
