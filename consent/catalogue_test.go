package consent

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

func names(p Plan) []string {
	var out []string
	for _, n := range p.Needs {
		mark := "?"
		if n.Required {
			mark = "!"
		}
		out = append(out, n.Name+mark)
	}
	return out
}

func TestPlanForComputesMinimalSets(t *testing.T) {
	tests := []struct {
		t        PermissionType
		features []Feature
		want     []string
		admin    bool
	}{
		{Delegated, []Feature{MailSync}, []string{"openid!", "profile!", "offline_access!", "User.Read!", "email?", "Mail.Read!", "MailboxSettings.Read?"}, false},
		{Delegated, []Feature{CalendarSync, TwoWayCalendar}, []string{"openid!", "profile!", "offline_access!", "User.Read!", "email?", "MailboxSettings.Read!", "Calendars.ReadWrite!"}, false},
		{Application, []Feature{MailSync, CalendarSync}, []string{"Mail.Read!", "User.Read.All!", "Calendars.Read!"}, true},
		{Application, []Feature{MailSync, MailboxPolicy}, []string{"Mail.Read!", "User.Read.All!", "Group.Read.All?"}, true},
		{Delegated, []Feature{SendMail, Files}, []string{"openid!", "profile!", "offline_access!", "User.Read!", "email?", "Mail.Send!", "Files.Read.All!", "Sites.Read.All?"}, false},
		{Delegated, []Feature{MailboxPolicy}, []string{"openid!", "profile!", "offline_access!", "User.Read!", "email?", "User.Read.All!", "Group.Read.All?"}, true},
	}
	for _, tt := range tests {
		p, err := PlanFor(tt.t, tt.features...)
		require.NoError(t, err)
		assert.Equal(t, tt.want, names(p), "%s %v", tt.t, tt.features)
		assert.Equal(t, tt.admin, p.NeedsAdmin(), "%s %v", tt.t, tt.features)
	}
	_, err := PlanFor(Delegated, "teleport")
	assert.EqualError(t, err, `consent: unknown feature "teleport"`)
}

func TestPlanScopes(t *testing.T) {
	p, _ := PlanFor(Delegated, MailSync, CalendarSync)
	assert.Equal(t, []string{"openid", "profile", "offline_access", "https://graph.microsoft.com/User.Read",
		"https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/Calendars.Read"}, p.Scopes(m365link.Cloud{}, false))
	assert.Equal(t, []string{"https://graph.microsoft.us/User.Read", "https://graph.microsoft.us/Mail.Read",
		"https://graph.microsoft.us/MailboxSettings.Read", "https://graph.microsoft.us/Calendars.Read"}, p.GraphScopes(m365link.USGovL4, true))
	app, _ := PlanFor(Application, MailSync)
	assert.Equal(t, []string{"https://microsoftgraph.chinacloudapi.cn/.default"}, app.Scopes(m365link.China, true))
}

func TestCatalogueIsComplete(t *testing.T) {
	for _, name := range []string{"Mail.Read", "Mail.ReadBasic", "Mail.Send", "Calendars.Read", "Calendars.ReadWrite", "Contacts.Read",
		"MailboxSettings.Read", "User.Read", "User.Read.All", "Group.Read.All", "Files.Read.All", "Sites.Read.All", "offline_access", "openid", "profile", "email"} {
		p, ok := Lookup(name, Delegated)
		require.True(t, ok, name)
		assert.NotEmpty(t, p.Reason, name)
	}
	for _, p := range Catalogue() {
		if p.Type == Application {
			assert.True(t, p.AdminConsent, "application permissions always need an admin: %s", p.Name)
		}
	}
}

func TestRenderHTMLEscapes(t *testing.T) {
	p := Plan{Type: Delegated, Needs: []Need{{Permission: Permission{Name: "<x>", Type: Delegated, Reason: `a "quoted" & <b>`}, Required: true, Features: []Feature{"f<1>"}}}}
	var b strings.Builder
	require.NoError(t, p.RenderHTML(&b))
	assert.Equal(t, `<table class="m365link-permissions"><thead><tr><th>Permission</th><th>Type</th><th>Admin consent</th><th>Needed</th><th>For</th><th>Why</th></tr></thead><tbody>`+
		`<tr class="required"><td><code>&lt;x&gt;</code></td><td>delegated</td><td>no</td><td>required</td><td>f&lt;1&gt;</td><td>a &#34;quoted&#34; &amp; &lt;b&gt;</td></tr></tbody></table>`+"\n", b.String())
}

// A Permission is a plain struct a host can fill in: its type is escaped too.
func TestRenderHTMLEscapesType(t *testing.T) {
	p := Plan{Type: "<i>", Needs: []Need{{Permission: Permission{Name: "X", Type: `<script>alert("t")</script>`, Reason: "r"}}}}
	var b strings.Builder
	require.NoError(t, p.RenderHTML(&b))
	assert.Equal(t, `<table class="m365link-permissions"><thead><tr><th>Permission</th><th>Type</th><th>Admin consent</th><th>Needed</th><th>For</th><th>Why</th></tr></thead><tbody>`+
		`<tr class="optional"><td><code>X</code></td><td>&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;</td><td>no</td><td>optional</td><td></td><td>r</td></tr></tbody></table>`+"\n", b.String())
}
