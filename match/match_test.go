package match_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

// directory is a procurement team's vendors, with the awkward cases real
// data has.
var directory = []vendors.Vendor{
	// Country domains and a subsidiary's domain; a contact on Gmail.
	{ID: "acme", Name: "Acme Corporation", Tracked: true,
		Domains:  []string{"acme.com", "acme.co.uk", "acme.com.au", "acme-logistics.net"},
		Contacts: []string{"Ann Vendor <ann.vendor@acme.com>", "acme.owner@gmail.com"}},
	{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}, Contacts: []string{"hank@globex.com"}},
	{ID: "initech", Name: "Initech", Tracked: false, Domains: []string{"initech.com"}},
	// Two vendors claim one domain: a group and its UK reseller.
	{ID: "umbrella", Name: "Umbrella Supplies", Tracked: true, Domains: []string{"umbrella-group.com", "umbrella.de"}},
	{ID: "umbrella-uk", Name: "Umbrella UK", Tracked: true, Domains: []string{"umbrella-group.com"}, Contacts: []string{"jo@umbrella-group.com"}},
	// A tracked and an untracked vendor share a domain.
	{ID: "hooli", Name: "Hooli", Tracked: false, Domains: []string{"hooli.com"}},
	{ID: "hooli-xyz", Name: "Hooli XYZ", Tracked: true, Domains: []string{"hooli.com"}},
	// A consultant listed under two vendors.
	{ID: "stark", Name: "Stark Industries", Tracked: true, Domains: []string{"stark.example"}, Contacts: []string{"consultant@freelance.example"}},
	{ID: "wayne", Name: "Wayne Enterprises", Tracked: true, Domains: []string{"wayne.example"}, Contacts: []string{"consultant@freelance.example"}},
	{ID: "bucher", Name: "Bücher GmbH", Tracked: true, Domains: []string{"bücher.example"}},
	{ID: "roo", Name: "Roo Pty Ltd", Tracked: true, Domains: []string{"roo.com.au"}},
	// A known contact on a free-mail domain, and a vendor whose domain is
	// on the free-mail list (the host takes it off).
	{ID: "solo", Name: "Solo Consultant", Tracked: true, Contacts: []string{"Solo.Consultant@outlook.com"}},
	{ID: "mailco", Name: "Mail.com Inc", Tracked: true, Domains: []string{"mail.com"}},
	// Bad data: a vendor claims the tenant's own domain and a colleague.
	{ID: "rogue", Name: "Rogue", Tracked: true, Domains: []string{"contoso.com"}, Contacts: []string{"alice@contoso.com"}},
}

var internal = []string{"contoso.com", "contoso.onmicrosoft.com"}

func newIndex(t testing.TB) *vendors.Index {
	t.Helper()
	x, err := vendors.NewIndex(directory)
	require.NoError(t, err)
	return x
}

func newMatcher(t testing.TB, cfg match.Config) *match.Matcher {
	t.Helper()
	if cfg.Directory == nil {
		cfg.Directory = newIndex(t)
	}
	if cfg.InternalDomains == nil {
		cfg.InternalDomains = internal
	}
	m, err := match.New(cfg)
	require.NoError(t, err)
	return m
}

func part(addr, norm string) match.Participant {
	return match.Participant{Role: match.RoleAddress, Address: addr, Normalized: norm, RoleAddress: match.IsRoleAddress(norm)}
}

func matched(addr, norm, vendor string, rule match.Rule, key string, confidence float64) match.Result {
	return match.Result{Matches: []match.Match{{VendorID: vendor, Rule: rule, Key: key, Confidence: confidence, Participant: part(addr, norm)}}}
}

func dropped(addr, norm string, reason match.Reason, rule match.Rule, key string, candidates ...string) match.Result {
	return match.Result{Dropped: []match.Dropped{{Participant: part(addr, norm), Reason: reason, Rule: rule, Key: key, Candidates: candidates}}}
}

func TestRules(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, Overrides: match.Overrides{
		Pin: map[string]string{"Billing@PayPal.com": "globex", "hooli.io": "globex", "partner.contoso.com": "acme",
			"ops@initech-partner.example": "initech", "x@ghost.example": "ghost"},
		Ignore:      []string{"spam.acme.com", "newsletter@globex.com"},
		Freemail:    []string{"corp-mail.example"},
		NotFreemail: []string{"mail.com"},
	}})
	const (
		contact = match.ConfidenceContact
		domain  = match.ConfidenceDomain
		parent  = match.ConfidenceParentDomain
	)
	tests := []struct {
		name, addr string
		want       match.Result
	}{
		{"exact contact", "hank@globex.com", matched("hank@globex.com", "hank@globex.com", "globex", match.RuleContact, "hank@globex.com", contact)},
		{"display name and mixed case", "Hank Hill <Hank@GLOBEX.com>", matched("Hank Hill <Hank@GLOBEX.com>", "hank@globex.com", "globex", match.RuleContact, "hank@globex.com", contact)},
		{"plus-addressing", "hank+rfq-2291@globex.com", matched("hank+rfq-2291@globex.com", "hank@globex.com", "globex", match.RuleContact, "hank@globex.com", contact)},
		{"domain", "someone@globex.com", matched("someone@globex.com", "someone@globex.com", "globex", match.RuleDomain, "globex.com", domain)},
		{"co.uk domain", "bob@acme.co.uk", matched("bob@acme.co.uk", "bob@acme.co.uk", "acme", match.RuleDomain, "acme.co.uk", domain)},
		{"co.uk parent", "bob@mail.eu.acme.co.uk", matched("bob@mail.eu.acme.co.uk", "bob@mail.eu.acme.co.uk", "acme", match.RuleParentDomain, "acme.co.uk", parent)},
		{"com.au parent", "ops@sydney.acme.com.au", matched("ops@sydney.acme.com.au", "ops@sydney.acme.com.au", "acme", match.RuleParentDomain, "acme.com.au", parent)},
		{"com.au domain", "g.day@ROO.com.au", matched("g.day@ROO.com.au", "g.day@roo.com.au", "roo", match.RuleDomain, "roo.com.au", domain)},
		{"a public suffix is no mailbox's domain", "x@com.au", dropped("x@com.au", "", match.ReasonInvalid, "", "")},
		{"subsidiary domain", "li@acme-logistics.net", matched("li@acme-logistics.net", "li@acme-logistics.net", "acme", match.RuleDomain, "acme-logistics.net", domain)},
		{"gmail contact", "acme.owner@gmail.com", matched("acme.owner@gmail.com", "acme.owner@gmail.com", "acme", match.RuleContact, "acme.owner@gmail.com", contact)},
		{"gmail contact, tagged, mixed case", "Acme.Owner+Invoices@GMAIL.com", matched("Acme.Owner+Invoices@GMAIL.com", "acme.owner@gmail.com", "acme", match.RuleContact, "acme.owner@gmail.com", contact)},
		{"gmail stranger", "random.person@gmail.com", dropped("random.person@gmail.com", "random.person@gmail.com", match.ReasonFreemail, "", "gmail.com")},
		{"outlook contact", "solo.consultant@outlook.com", matched("solo.consultant@outlook.com", "solo.consultant@outlook.com", "solo", match.RuleContact, "solo.consultant@outlook.com", contact)},
		{"outlook stranger", "someone@Outlook.com", dropped("someone@Outlook.com", "someone@outlook.com", match.ReasonFreemail, "", "outlook.com")},
		{"taken off the free-mail list", "ceo@mail.com", matched("ceo@mail.com", "ceo@mail.com", "mailco", match.RuleDomain, "mail.com", domain)},
		{"added to the free-mail list", "x@corp-mail.example", dropped("x@corp-mail.example", "x@corp-mail.example", match.ReasonFreemail, "", "corp-mail.example")},
		{"internal", "alice@contoso.com", dropped("alice@contoso.com", "alice@contoso.com", match.ReasonInternal, "", "contoso.com")},
		{"internal subdomain", "it@eu.contoso.com", dropped("it@eu.contoso.com", "it@eu.contoso.com", match.ReasonInternal, "", "contoso.com")},
		{"internal onmicrosoft", "bob@Contoso.onmicrosoft.com", dropped("bob@Contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com", match.ReasonInternal, "", "contoso.onmicrosoft.com")},
		{"Exchange legacy DN", "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=A1B2-ALICE",
			dropped("/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=A1B2-ALICE", "", match.ReasonInternal, "", "")},
		{"shared domain", "pat@umbrella-group.com", dropped("pat@umbrella-group.com", "pat@umbrella-group.com", match.ReasonAmbiguous, match.RuleDomain, "umbrella-group.com", "umbrella", "umbrella-uk")},
		{"contact beats shared domain", "jo@umbrella-group.com", matched("jo@umbrella-group.com", "jo@umbrella-group.com", "umbrella-uk", match.RuleContact, "jo@umbrella-group.com", contact)},
		{"shared with an untracked vendor", "x@hooli.com", dropped("x@hooli.com", "x@hooli.com", match.ReasonAmbiguous, match.RuleDomain, "hooli.com", "hooli", "hooli-xyz")},
		{"contact of two vendors", "consultant@freelance.example", dropped("consultant@freelance.example", "consultant@freelance.example", match.ReasonAmbiguous, match.RuleContact, "consultant@freelance.example", "stark", "wayne")},
		{"IDN in Unicode", "info@BÜCHER.example", matched("info@BÜCHER.example", "info@xn--bcher-kva.example", "bucher", match.RuleDomain, "xn--bcher-kva.example", domain)},
		{"IDN in punycode", "info@xn--bcher-kva.example", matched("info@xn--bcher-kva.example", "info@xn--bcher-kva.example", "bucher", match.RuleDomain, "xn--bcher-kva.example", domain)},
		{"untracked", "peter@initech.com", dropped("peter@initech.com", "peter@initech.com", match.ReasonUntracked, match.RuleDomain, "initech.com", "initech")},
		{"role address", "noreply@globex.com", matched("noreply@globex.com", "noreply@globex.com", "globex", match.RuleDomain, "globex.com", domain/2)},
		{"mailer-daemon", "MAILER-DAEMON@acme.com", matched("MAILER-DAEMON@acme.com", "mailer-daemon@acme.com", "acme", match.RuleDomain, "acme.com", domain/2)},
		{"bounce with a tag", "bounces+12345-abc@mail.acme.com", matched("bounces+12345-abc@mail.acme.com", "bounces@mail.acme.com", "acme", match.RuleParentDomain, "acme.com", parent/2)},
		{"pinned address", "billing+inv@paypal.com", matched("billing+inv@paypal.com", "billing@paypal.com", "globex", match.RuleOverride, "billing@paypal.com", 1)},
		{"pinned domain", "dev@eng.hooli.io", matched("dev@eng.hooli.io", "dev@eng.hooli.io", "globex", match.RuleOverride, "hooli.io", 1)},
		{"pin beats internal", "ext@partner.contoso.com", matched("ext@partner.contoso.com", "ext@partner.contoso.com", "acme", match.RuleOverride, "partner.contoso.com", 1)},
		{"pinned to an untracked vendor", "ops@initech-partner.example", dropped("ops@initech-partner.example", "ops@initech-partner.example", match.ReasonUntracked, match.RuleOverride, "ops@initech-partner.example", "initech")},
		{"pinned to an unknown vendor", "x@ghost.example", dropped("x@ghost.example", "x@ghost.example", match.ReasonUnknownVendor, match.RuleOverride, "x@ghost.example", "ghost")},
		{"ignored domain", "x@spam.acme.com", dropped("x@spam.acme.com", "x@spam.acme.com", match.ReasonIgnored, "", "spam.acme.com")},
		{"ignored subdomain", "x@eu.spam.acme.com", dropped("x@eu.spam.acme.com", "x@eu.spam.acme.com", match.ReasonIgnored, "", "spam.acme.com")},
		{"ignored address", "newsletter@globex.com", dropped("newsletter@globex.com", "newsletter@globex.com", match.ReasonIgnored, "", "newsletter@globex.com")},
		{"internal beats a vendor's claim", "alice@contoso.com", dropped("alice@contoso.com", "alice@contoso.com", match.ReasonInternal, "", "contoso.com")},
		{"unknown", "stranger@unknown.example", dropped("stranger@unknown.example", "stranger@unknown.example", match.ReasonNoVendor, "", "")},
		{"not an address", "not an address", dropped("not an address", "", match.ReasonInvalid, "", "")},
		{"single-label domain", "root@localhost", dropped("root@localhost", "", match.ReasonInvalid, "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.MatchAddress(context.Background(), tt.addr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, got.Explain().String())
		})
	}
}

func TestRoleAddressesDropped(t *testing.T) {
	m := newMatcher(t, match.Config{DropRoleAddresses: true, Overrides: match.Overrides{Pin: map[string]string{"notifications@umbrella.de": "umbrella"}}})
	ctx := context.Background()
	got, err := m.MatchAddress(ctx, "no-reply@globex.com")
	require.NoError(t, err)
	assert.Equal(t, dropped("no-reply@globex.com", "no-reply@globex.com", match.ReasonRoleAddress, match.RuleDomain, "globex.com", "globex"), got)
	got, err = m.MatchAddress(ctx, "notifications@umbrella.de")
	require.NoError(t, err)
	assert.Equal(t, matched("notifications@umbrella.de", "notifications@umbrella.de", "umbrella", match.RuleOverride, "notifications@umbrella.de", 0.5), got,
		"a pinned role address still matches")
}

func TestWithoutTrackedFilterUntrackedVendorsMatch(t *testing.T) {
	m := newMatcher(t, match.Config{})
	got, err := m.MatchAddress(context.Background(), "peter@initech.com")
	require.NoError(t, err)
	assert.Equal(t, matched("peter@initech.com", "peter@initech.com", "initech", match.RuleDomain, "initech.com", match.ConfidenceDomain), got)
}

func TestIsRoleAddress(t *testing.T) {
	for _, a := range []string{"noreply@x.com", "no-reply@x.com", "No_Reply@x.com", "donotreply@x.com", "do-not-reply@x.com",
		"mailer-daemon@x.com", "MAILER-DAEMON@x.com", "postmaster@x.com", "bounce@x.com", "bounces+abc@x.com", "bounce-12-ann=acme.com@x.com",
		"notifications@x.com", "notification-eu@x.com", "notify2@x.com", "noreply.billing@x.com", "prvs=1234abcd=ann@x.com", "SRS0=abc=ann@x.com"} {
		assert.True(t, match.IsRoleAddress(a), a)
	}
	for _, a := range []string{"ann@x.com", "sales@x.com", "info@x.com", "noreplyann@x.com", "notifyme@x.com", "norah@x.com", "x.com", ""} {
		assert.False(t, match.IsRoleAddress(a), a)
	}
}

func TestFreemail(t *testing.T) {
	m := newMatcher(t, match.Config{Overrides: match.Overrides{Freemail: []string{"corp-mail.example"}, NotFreemail: []string{"GMX.de"}}})
	for _, d := range []string{"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com", "yahoo.com",
		"yahoo.co.uk", "icloud.com", "aol.com", "proton.me", "protonmail.com", "qq.com", "163.com", "web.de", "mail.ru", "yandex.ru",
		"GMAIL.com", "corp-mail.example", "eu.corp-mail.example"} {
		assert.True(t, m.Freemail(d), d)
	}
	for _, d := range []string{"acme.com", "gmx.de", "contoso.com", "microsoft.com", "not a domain"} {
		assert.False(t, m.Freemail(d), d)
	}
}

// TestMessage matches a whole message: roles, order, a repeated address,
// and the explanation a UI shows.
func TestMessage(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true})
	msg := &m365link.Message{
		From:    m365link.EmailAddress{Name: "Hank Hill", Address: "Hank@Globex.com"},
		Sender:  m365link.EmailAddress{Address: "hank@globex.com"},
		To:      []m365link.EmailAddress{{Name: "Alice", Address: "alice@contoso.com"}, {Address: "bob@mail.eu.acme.co.uk"}, {Name: "Nobody"}},
		Cc:      []m365link.EmailAddress{{Address: "pat@umbrella-group.com"}, {Address: "Hank+cc@globex.com"}, {Address: "friend@gmail.com"}},
		Bcc:     []m365link.EmailAddress{{Address: "peter@initech.com"}},
		ReplyTo: []m365link.EmailAddress{{Address: "noreply@acme.com"}},
	}
	got, err := m.MatchMessage(context.Background(), msg)
	require.NoError(t, err)
	p := func(i int, role match.Role, name, addr, norm string) match.Participant {
		return match.Participant{Index: i, Role: role, Name: name, Address: addr, Normalized: norm, RoleAddress: match.IsRoleAddress(norm)}
	}
	want := match.Result{
		Matches: []match.Match{
			{VendorID: "globex", Rule: match.RuleContact, Key: "hank@globex.com", Confidence: 0.99, Participant: p(0, match.RoleFrom, "Hank Hill", "Hank@Globex.com", "hank@globex.com")},
			{VendorID: "acme", Rule: match.RuleParentDomain, Key: "acme.co.uk", Confidence: 0.8, Participant: p(2, match.RoleTo, "", "bob@mail.eu.acme.co.uk", "bob@mail.eu.acme.co.uk")},
			{VendorID: "acme", Rule: match.RuleDomain, Key: "acme.com", Confidence: 0.45, Participant: p(8, match.RoleReplyTo, "", "noreply@acme.com", "noreply@acme.com")},
		},
		Dropped: []match.Dropped{
			{Participant: p(1, match.RoleTo, "Alice", "alice@contoso.com", "alice@contoso.com"), Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: p(4, match.RoleCc, "", "pat@umbrella-group.com", "pat@umbrella-group.com"), Reason: match.ReasonAmbiguous, Rule: match.RuleDomain,
				Key: "umbrella-group.com", Candidates: []string{"umbrella", "umbrella-uk"}},
			{Participant: p(6, match.RoleCc, "", "friend@gmail.com", "friend@gmail.com"), Reason: match.ReasonFreemail, Key: "gmail.com"},
			{Participant: p(7, match.RoleBcc, "", "peter@initech.com", "peter@initech.com"), Reason: match.ReasonUntracked, Rule: match.RuleDomain,
				Key: "initech.com", Candidates: []string{"initech"}},
		},
	}
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"globex", "acme"}, got.Vendors())
	// Index points into Message.Participants.
	ps := msg.Participants()
	for _, mm := range got.Matches {
		assert.Equal(t, ps[mm.Participant.Index].Address, mm.Participant.Address)
	}
	for _, d := range got.Dropped {
		assert.Equal(t, ps[d.Participant.Index].Address, d.Participant.Address)
	}
	assert.Equal(t, strings.Join([]string{
		"from Hank Hill <hank@globex.com>: vendor globex, known contact hank@globex.com (confidence 0.99)",
		"to Alice <alice@contoso.com>: no vendor: internal domain contoso.com",
		"to bob@mail.eu.acme.co.uk: vendor acme, parent domain acme.co.uk (confidence 0.80)",
		"cc pat@umbrella-group.com: no vendor: domain umbrella-group.com claimed by several vendors (umbrella, umbrella-uk)",
		"cc friend@gmail.com: no vendor: free-mail domain gmail.com, not a known contact",
		"bcc peter@initech.com: no vendor: domain initech.com of initech, not tracked",
		"reply-to noreply@acme.com: vendor acme, domain acme.com (confidence 0.45), a role address",
	}, "\n")+"\n", got.Explain().String())
}

func TestEvent(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true})
	ev := &m365link.Event{Organizer: m365link.EmailAddress{Name: "Alice", Address: "alice@contoso.com"},
		Attendees: []m365link.Attendee{
			{EmailAddress: m365link.EmailAddress{Name: "Ann Vendor", Address: "Ann.Vendor@acme.com"}, Type: m365link.AttendeeRequired},
			{EmailAddress: m365link.EmailAddress{Name: "Room 1", Address: "room1@contoso.com"}, Type: m365link.AttendeeResource},
			{EmailAddress: m365link.EmailAddress{Address: "x@hooli.com"}, Type: m365link.AttendeeOptional},
		}}
	got, err := m.MatchEvent(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, match.Result{
		Matches: []match.Match{{VendorID: "acme", Rule: match.RuleContact, Key: "ann.vendor@acme.com", Confidence: 0.99,
			Participant: match.Participant{Index: 1, Role: match.RoleAttendee, Name: "Ann Vendor", Address: "Ann.Vendor@acme.com", Normalized: "ann.vendor@acme.com"}}},
		Dropped: []match.Dropped{
			{Participant: match.Participant{Index: 0, Role: match.RoleOrganizer, Name: "Alice", Address: "alice@contoso.com", Normalized: "alice@contoso.com"},
				Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: match.Participant{Index: 2, Role: match.RoleAttendee, Name: "Room 1", Address: "room1@contoso.com", Normalized: "room1@contoso.com"},
				Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: match.Participant{Index: 3, Role: match.RoleAttendee, Address: "x@hooli.com", Normalized: "x@hooli.com"},
				Reason: match.ReasonAmbiguous, Rule: match.RuleDomain, Key: "hooli.com", Candidates: []string{"hooli", "hooli-xyz"}},
		},
	}, got)
	assert.Equal(t, "organizer Alice <alice@contoso.com>: no vendor: internal domain contoso.com\n"+
		"attendee Ann Vendor <ann.vendor@acme.com>: vendor acme, known contact ann.vendor@acme.com (confidence 0.99)\n"+
		"attendee Room 1 <room1@contoso.com>: no vendor: internal domain contoso.com\n"+
		"attendee x@hooli.com: no vendor: domain hooli.com claimed by several vendors (hooli, hooli-xyz)\n", got.Explain().String())
}

func TestSetOverrides(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, Overrides: match.Overrides{Pin: map[string]string{"x@ghost.example": "acme"}, Ignore: []string{"spam.acme.com"}}})
	ctx := context.Background()
	c, err := m.SetOverrides(match.Overrides{Pin: map[string]string{"x@ghost.example": "globex", "PAT@umbrella-group.com": "umbrella"},
		Ignore: []string{"spam.acme.com", "initech.com"}, NotFreemail: []string{"mail.com"}})
	require.NoError(t, err)
	assert.Equal(t, match.Change{Domains: []string{"initech.com", "mail.com"}, Addresses: []string{"pat@umbrella-group.com", "x@ghost.example"}}, c)
	assert.Equal(t, match.Overrides{Pin: map[string]string{"x@ghost.example": "globex", "pat@umbrella-group.com": "umbrella"},
		Ignore: []string{"initech.com", "spam.acme.com"}, NotFreemail: []string{"mail.com"}}, m.Overrides())

	got, err := m.MatchAddress(ctx, "pat@umbrella-group.com")
	require.NoError(t, err)
	assert.Equal(t, matched("pat@umbrella-group.com", "pat@umbrella-group.com", "umbrella", match.RuleOverride, "pat@umbrella-group.com", 1), got,
		"a pin settles an ambiguity")
	got, err = m.MatchAddress(ctx, "peter@initech.com")
	require.NoError(t, err)
	assert.Equal(t, dropped("peter@initech.com", "peter@initech.com", match.ReasonIgnored, "", "initech.com"), got)

	for _, tt := range []struct {
		o    match.Overrides
		want string
	}{
		{match.Overrides{Pin: map[string]string{"not a key": "acme"}}, `match: override "not a key" is neither an e-mail address nor a domain`},
		{match.Overrides{Pin: map[string]string{"acme.com": ""}}, `match: override pins "acme.com" to an empty vendor ID`},
		{match.Overrides{Pin: map[string]string{"acme.com": "acme"}, Ignore: []string{"ACME.com"}}, `match: overrides both pin "acme.com" to "acme" and ignore it`},
		{match.Overrides{Freemail: []string{"x.example"}, NotFreemail: []string{"X.example"}}, `match: "x.example" is both added to and removed from the free-mail list`},
		{match.Overrides{Freemail: []string{"@"}}, `match: free-mail override "@" is not a domain`},
	} {
		_, err := m.SetOverrides(tt.o)
		assert.EqualError(t, err, tt.want)
	}
	assert.Equal(t, "umbrella", m.Overrides().Pin["pat@umbrella-group.com"], "a refused change leaves the overrides as they were")
}

func TestNewErrors(t *testing.T) {
	_, err := match.New(match.Config{})
	assert.EqualError(t, err, "match: Config.Directory is required")
	_, err = match.New(match.Config{Directory: newIndex(t), InternalDomains: []string{"contoso"}})
	assert.EqualError(t, err, `match: internal domain "contoso" is not a domain`)
}

// fakeDirectory is a host's directory: a map, counting its lookups.
type fakeDirectory struct {
	claims  map[vendors.Key][]vendors.Hit
	lookups int
	err     error
}

func (d *fakeDirectory) Lookup(_ context.Context, dst []vendors.Hit, keys []vendors.Key) ([]vendors.Hit, error) {
	d.lookups++
	if d.err != nil {
		return dst, d.err
	}
	for i, k := range keys {
		for _, h := range d.claims[k] {
			h.Key = i
			dst = append(dst, h)
		}
	}
	return dst, nil
}

func TestHostDirectory(t *testing.T) {
	dir := &fakeDirectory{claims: map[vendors.Key][]vendors.Hit{
		{Kind: vendors.KeyDomain, Value: "acme.com"}:      {{VendorID: "acme", Tracked: true}, {VendorID: "acme", Tracked: true}},
		{Kind: vendors.KeyContact, Value: "ann@acme.com"}: {{VendorID: "acme", Tracked: true}},
	}}
	m := newMatcher(t, match.Config{Directory: dir, TrackedOnly: true})
	msg := &m365link.Message{From: m365link.EmailAddress{Address: "ann@acme.com"},
		To: []m365link.EmailAddress{{Address: "bob@acme.com"}, {Address: "carol@eu.acme.com"}, {Address: "dan@acme.com"}}}
	got, err := m.MatchMessage(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, 1, dir.lookups, "one lookup for the whole message")
	assert.Equal(t, []string{"acme"}, got.Vendors())
	require.Len(t, got.Matches, 4)
	assert.Equal(t, match.Match{VendorID: "acme", Rule: match.RuleDomain, Key: "acme.com", Confidence: 0.9,
		Participant: match.Participant{Index: 1, Role: match.RoleTo, Address: "bob@acme.com", Normalized: "bob@acme.com"}}, got.Matches[1],
		"a vendor the directory repeats is one candidate")

	boom := errors.New("connection refused")
	dir.err = boom
	_, err = m.MatchMessage(context.Background(), msg)
	require.ErrorIs(t, err, boom)
	assert.EqualError(t, err, "match: directory lookup: connection refused")
}

// TestTrackingChangesApplyAtOnce: the matcher caches nothing the directory says.
func TestTrackingChangesApplyAtOnce(t *testing.T) {
	x := newIndex(t)
	m := newMatcher(t, match.Config{Directory: x, TrackedOnly: true})
	ctx := context.Background()
	got, _ := m.MatchAddress(ctx, "other@globex.com")
	assert.Equal(t, []string{"globex"}, got.Vendors())
	require.NoError(t, x.Put(vendors.Vendor{ID: "globex", Name: "Globex", Domains: []string{"globex.com"}, Contacts: []string{"hank@globex.com"}}))
	got, _ = m.MatchAddress(ctx, "other@globex.com")
	assert.Equal(t, dropped("other@globex.com", "other@globex.com", match.ReasonUntracked, match.RuleDomain, "globex.com", "globex"), got)
}

// FuzzMatch checks that no input panics, that a match is stable under
// ASCII case changes of the address, and that normalising is idempotent.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"Hank@Globex.com", "bob@mail.eu.acme.co.uk", "x@bücher.example", "pat@umbrella-group.com", "a@b", "@",
		"Zoë <zoe@ACME.com>", "acme.owner+x@gmail.com", "/o=ExchangeLabs/cn=x", "noreply@globex.com", "x@ghost.example", "\"a b\"@acme.com",
		"ann@xn--bcher-kva.example", "ann@XN--BCHER-KVA.example.", "<>", "mailto:", "a@b.c.d.e.f.g.co.uk"} {
		f.Add(s, uint64(0x5555555555555555))
	}
	m := newMatcher(f, match.Config{TrackedOnly: true, Overrides: match.Overrides{Pin: map[string]string{"x@ghost.example": "acme", "hooli.io": "globex"},
		Ignore: []string{"spam.acme.com"}}})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, addr string, flips uint64) {
		r1, err := m.MatchAddress(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := vendors.NormalizeAddress(addr); ok {
			if n2, ok2 := vendors.NormalizeAddress(n); !ok2 || n2 != n {
				t.Fatalf("NormalizeAddress(%q) = %q, but NormalizeAddress(%q) = %q, %v", addr, n, n, n2, ok2)
			}
		}
		b := []byte(addr)
		for i := range b {
			if c := b[i] | 0x20; c >= 'a' && c <= 'z' && flips>>(i%64)&1 == 1 {
				b[i] ^= 0x20
			}
		}
		r2, err := m.MatchAddress(ctx, string(b))
		if err != nil {
			t.Fatal(err)
		}
		strip := func(r match.Result) match.Result {
			for i := range r.Matches {
				r.Matches[i].Participant.Address = ""
			}
			for i := range r.Dropped {
				r.Dropped[i].Participant.Address = ""
			}
			return r
		}
		assert.Equal(t, strip(r1), strip(r2), "%q and %q", addr, b)
	})
}

// TestExplanationLines checks the sentence a UI shows for every outcome.
func TestExplanationLines(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, DropRoleAddresses: true, Overrides: match.Overrides{
		Pin: map[string]string{"x@ghost.example": "ghost", "hooli.io": "globex"}, Ignore: []string{"spam.acme.com"}}})
	msg := &m365link.Message{
		From: m365link.EmailAddress{Name: "Hooli Partner", Address: "dev@hooli.io"},
		To: []m365link.EmailAddress{{Address: "x@ghost.example"}, {Address: "a@spam.acme.com"}, {Address: "noreply@globex.com"},
			{Address: "stranger@unknown.example"}, {Name: "Broken", Address: "broken@"}, {Address: "/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=bob"},
			{Address: "consultant@freelance.example"}, {Address: "li@acme-logistics.net"}},
	}
	r, err := m.MatchMessage(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"from Hooli Partner <dev@hooli.io>: vendor globex, override of hooli.io (confidence 1.00)",
		"to x@ghost.example: no vendor: pinned by an override of x@ghost.example to ghost, which the directory does not have",
		"to a@spam.acme.com: no vendor: ignored by an override of spam.acme.com",
		"to noreply@globex.com: no vendor: a role address, domain globex.com of globex",
		"to stranger@unknown.example: no vendor: no vendor claims the address or its domain",
		"to Broken <broken@>: no vendor: not an e-mail address",
		"to /o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=bob: no vendor: an Exchange-internal address",
		"to consultant@freelance.example: no vendor: known contact consultant@freelance.example claimed by several vendors (stark, wayne)",
		"to li@acme-logistics.net: vendor acme, domain acme-logistics.net (confidence 0.90)",
	}, "\n")+"\n", r.Explain().String())
	e := r.Explain()
	require.Len(t, e.Lines, 9)
	assert.Same(t, &r.Matches[0], e.Lines[0].Match)
	assert.Nil(t, e.Lines[0].Dropped)
	assert.Same(t, &r.Dropped[0], e.Lines[1].Dropped)
	assert.Equal(t, match.Explanation{Lines: []match.Line{}}, match.Result{}.Explain())
}
