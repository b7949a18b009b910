package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs the command's logic in process with args and an environment
// of exactly env.
func runCmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

func TestHelpOnEveryCommand(t *testing.T) {
	r := runCmd(t, nil, "--help")
	assert.Equal(t, 0, r.code)
	for _, cmd := range commands {
		assert.Contains(t, r.stdout, "  "+cmd.name+" ")
	}
	for _, cmd := range commands {
		for _, args := range [][]string{{cmd.name, "--help"}, {cmd.name, "-h"}, {"help", cmd.name}} {
			r := runCmd(t, nil, args...)
			assert.Equal(t, 0, r.code, args)
			assert.True(t, strings.HasPrefix(r.stdout, "Usage: m365link [--fake] "+cmd.name+" "), "%v: %q", args, r.stdout)
			assert.Contains(t, r.stdout, "-fake", args)
			assert.Empty(t, r.stderr, args)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	r := runCmd(t, nil)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "Usage:")

	r = runCmd(t, nil, "frobnicate")
	assert.Equal(t, 2, r.code)
	assert.Equal(t, "m365link: unknown command \"frobnicate\" (commands: consent-url, permissions, status, sync-once, test-connection)\n", r.stderr)

	r = runCmd(t, nil, "permissions", "--nope")
	assert.Equal(t, 2, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, "flag provided but not defined: -nope\nUsage: m365link [--fake] permissions"), r.stderr)

	r = runCmd(t, nil, "permissions", "--features", "mail,telepathy")
	assert.Equal(t, 2, r.code)
	assert.Equal(t, "unknown feature \"telepathy\" (features: mail, calendar, calendar-write, send, contacts, mailbox-selection, files, sign-in)\n", r.stderr)

	r = runCmd(t, nil, "status", "extra")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "unexpected arguments: extra")
}

func TestPermissions(t *testing.T) {
	r := runCmd(t, nil, "permissions", "--features", "mail,send")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `Permission     Type         Admin consent  Needed    Why
Mail.Read      application  yes            required  Read the mail of the mailboxes the admin selects, without each user connecting.
User.Read.All  application  yes            required  List the organisation's users and mailboxes, so the admin can choose which mailboxes sync.
Mail.Send      application  yes            required  Send mail as any user or shared mailbox the admin allows.

Admin consent needed: yes: run `+"`m365link consent-url`"+` and have a Global Administrator open the link
Scopes requested (global cloud): https://graph.microsoft.com/.default
`, r.stdout)

	r = runCmd(t, map[string]string{envCloud: "usgov-l4"}, "permissions", "--type", "delegated", "--features", "mail", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var plan planJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
	assert.Equal(t, "delegated", plan.Type)
	assert.Equal(t, "usgov-l4", plan.Cloud)
	assert.False(t, plan.NeedsAdmin)
	var names []string
	for _, p := range plan.Permissions {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"openid", "profile", "offline_access", "User.Read", "email", "Mail.Read", "MailboxSettings.Read"}, names)
	assert.Contains(t, plan.Scopes, "https://graph.microsoft.us/Mail.Read")

	r = runCmd(t, nil, "permissions", "--features", "calendar-write", "--markdown")
	require.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, "| Permission | Type | Admin consent | Needed | For | Why |\n"), r.stdout)
	assert.Contains(t, r.stdout, "| `Calendars.ReadWrite` | application | yes | required | two-way calendar |")
}

const testTenant = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

func TestConsentURL(t *testing.T) {
	// A real tenant: made offline, no secret needed.
	env := map[string]string{envTenant: testTenant, envClientID: "11111111-2222-4333-8444-555555555555", envRedirectURI: "https://crm.example.com/m365/callback"}
	r := runCmd(t, env, "consent-url")
	require.Equal(t, 0, r.code, r.stderr)
	u, err := url.Parse(strings.TrimSpace(r.stdout))
	require.NoError(t, err)
	assert.Equal(t, "https://login.microsoftonline.com/"+testTenant+"/v2.0/adminconsent", u.Scheme+"://"+u.Host+u.Path)
	assert.Equal(t, "11111111-2222-4333-8444-555555555555", u.Query().Get("client_id"))
	assert.Equal(t, "https://crm.example.com/m365/callback", u.Query().Get("redirect_uri"))
	assert.Equal(t, "https://graph.microsoft.com/.default", u.Query().Get("scope"))
	assert.NotEmpty(t, u.Query().Get("state"))

	env[envCloud] = "china"
	r = runCmd(t, env, "consent-url", "--redirect-uri", "https://crm.example.cn/cb")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "https://login.chinacloudapi.cn/"+testTenant+"/v2.0/adminconsent?"), r.stdout)
	assert.Contains(t, r.stdout, "redirect_uri=https%3A%2F%2Fcrm.example.cn%2Fcb")

	r = runCmd(t, nil, "consent-url")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "m365link consent-url: not configured: set M365LINK_TENANT_ID (or --tenant), M365LINK_CLIENT_ID, or run with --fake against the built-in fake tenant\n", r.stderr)

	r = runCmd(t, map[string]string{envClientID: "x"}, "consent-url", "--tenant", "contoso.com")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "not configured: set M365LINK_REDIRECT_URI")

	r = runCmd(t, nil, "--fake", "consent-url")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^https://127\.0\.0\.1:\d+/[0-9a-f-]{36}/v2\.0/adminconsent\?client_id=`, r.stdout)
}

// tenantRE matches the fake's tenant ID, which is new every run.
var tenantRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func TestTestConnection(t *testing.T) {
	r := runCmd(t, nil, "test-connection", "--fake")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `Connection test of tenant TENANT, mailbox alice@contoso.com
  ok    acquire an app-only token (admin consent)
  ok    list users (User.Read.All)
  ok    find alice@contoso.com (User.Read.All)
  ok    read alice@contoso.com's Inbox (Mail.Read)
  ok    read alice@contoso.com's calendars (Calendars.Read)
All 5 checks passed: the app-only connection works.
`, tenantRE.ReplaceAllString(r.stdout, "TENANT"))

	// The user without a mailbox: the check says so and what to do.
	r = runCmd(t, nil, "--fake", "test-connection", "--mailbox", "frank@contoso.com")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "  FAIL  read frank@contoso.com's Inbox (Mail.Read)\n        error: ")
	assert.Regexp(t, `(?m)^        fix:   \S`, r.stdout)
	assert.Contains(t, r.stdout, "checks failed.\n")

	r = runCmd(t, nil, "--fake", "test-connection", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var rep struct {
		OK     bool
		Checks []checkJSON
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.True(t, rep.OK)
	assert.Len(t, rep.Checks, 5)

	// A real tenant needs its secret.
	r = runCmd(t, map[string]string{envTenant: testTenant, envClientID: "x"}, "test-connection")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "m365link test-connection: not configured: set M365LINK_CLIENT_SECRET, or run with --fake against the built-in fake tenant\n", r.stderr)
	r = runCmd(t, map[string]string{envTenant: testTenant, envClientID: "x", envClientSecret: "s", envCloud: "mars"}, "test-connection")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `M365LINK_CLOUD="mars": want global, usgov-l4, usgov-l5 or china`)
}

// syncTable is the per-mailbox table of a first sync-once on the fake:
// the generated data is the same every run.
const syncTable = `MAILBOX            STATE             MESSAGES  MEETINGS  MATCHED  NOTE
alice@contoso.com  idle              300       25        233      
bob@contoso.com    idle              300       26        253      
carol@contoso.com  idle              300       28        248      
dan@contoso.com    idle              300       27        245      
erin@contoso.com   idle              300       27        243      
frank@contoso.com  not mail-enabled  0         0         0        no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises)
`

func TestSyncOnceFake(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sync.db")
	r := runCmd(t, nil, "--fake", "sync-once", "--db", db)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Syncing 6 mailboxes of tenant ")
	assert.Contains(t, r.stdout, " into "+db+"\n\n"+syncTable)
	assert.Regexp(t, `\nSynced 6 mailboxes in [0-9.]+m?s: 5 idle, 1 not mail-enabled\.\n`, r.stdout)
	assert.Contains(t, r.stdout, "This pass: 1,500 messages and 133 meetings (1,222 matched to a vendor), 0 removals; ")
	// The progress bar, redrawn in place, ends full.
	assert.Contains(t, r.stderr, "\r[")
	assert.True(t, strings.HasSuffix(r.stderr, "[##############################] 100%  1,633 items  6/6 mailboxes\n"), "%q", r.stderr)

	// Without --db the fake's database is thrown away; a named one stays.
	_, err := os.Stat(db)
	require.NoError(t, err)

	r = runCmd(t, nil, "status", "--db", db)
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(r.stdout, "\n")
	require.Len(t, lines, 10, r.stdout)
	assert.Equal(t, "MAILBOX            STATE             LAST SYNC             LAST PASS  STORED  FOLDERS  REASON", strings.TrimRight(lines[0], " "))
	assert.Regexp(t, `^alice@contoso\.com  idle              \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  325        325     3 +$`, lines[1])
	assert.Regexp(t, `^frank@contoso\.com  not mail-enabled  never                 0          0       0        no Exchange Online mailbox`, lines[6])
	assert.Equal(t, "6 mailboxes: 5 idle, 1 not mail-enabled.", lines[8])

	r = runCmd(t, nil, "status", "--db", db, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var st []statusJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
	require.Len(t, st, 6)
	assert.Equal(t, "bob@contoso.com", st[1].Mailbox)
	assert.Equal(t, "idle", st[1].State)
	assert.Equal(t, 326, st[1].Stored)
}

func TestSyncOnceSelection(t *testing.T) {
	r := runCmd(t, nil, "--fake", "sync-once", "--mailboxes", "bob@contoso.com", "--calendar=false", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Syncing 1 mailboxes of tenant ")
	assert.Contains(t, r.stdout, "bob@contoso.com  idle   300       0         ")
	assert.Empty(t, r.stderr)

	r = runCmd(t, nil, "sync-once", "--workers", "0")
	assert.Equal(t, 2, r.code)
}

func TestStatusFake(t *testing.T) {
	r := runCmd(t, nil, "--fake", "status")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "6 mailboxes: 5 idle, 1 not mail-enabled.\n")

	r = runCmd(t, nil, "status", "--db", filepath.Join(t.TempDir(), "none.db"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no state store at ")
}

func TestLoadVendors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vendors.csv")
	require.NoError(t, os.WriteFile(path, []byte("id,name,domains,contacts\nacme,Acme Corp,acme.com; acme.co.uk,ann@acme.com;acme.owner@gmail.com\nglobex,Globex,globex.com\n"), 0o600))
	vs, err := loadVendors(path)
	require.NoError(t, err)
	require.Len(t, vs, 2)
	assert.Equal(t, []string{"acme.com", "acme.co.uk"}, vs[0].Domains)
	assert.Equal(t, []string{"ann@acme.com", "acme.owner@gmail.com"}, vs[0].Contacts)
	assert.True(t, vs[1].Tracked)

	require.NoError(t, os.WriteFile(path, []byte("id,name\nacme,Acme\n"), 0o600))
	_, err = loadVendors(path)
	assert.ErrorContains(t, err, "line 2: want id,name,domains[,contacts]")
}

// sync-once ends with the vendor table and writes the HTML page.
func TestSyncOnceReport(t *testing.T) {
	page := filepath.Join(t.TempDir(), "report.html")
	r := runCmd(t, nil, "--fake", "sync-once", "--quiet", "--html", page)
	require.Equal(t, 0, r.code, r.stderr)
	_, table, ok := strings.Cut(r.stdout, "Activity by vendor (everything stored, not only this pass):\n")
	require.True(t, ok, r.stdout)
	lines := strings.Split(table, "\n")
	assert.Equal(t, "vendor                messages  meetings  last contact  top contacts", lines[0])
	// 16 vendors, the busiest first; the dates move with the fake's data,
	// which ends today.
	assert.Regexp(t, `^Globex                94        15        \d{4}-\d\d-\d\d    sales@globex\.com, `, lines[1])
	assert.Regexp(t, `^Pied Piper            45        3         `, lines[16])
	assert.Equal(t, "", lines[17])
	assert.Equal(t, "Wrote "+page+": open it in a browser.", lines[18])
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(html), `<table id="vendor-table">`)
	assert.Contains(t, string(html), "frank@contoso.com")

	// An unwritable page is an error, not silence.
	r = runCmd(t, nil, "--fake", "sync-once", "--quiet", "--html", filepath.Join(t.TempDir(), "no", "such", "dir", "r.html"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no such file or directory")
}
