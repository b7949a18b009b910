package match_test

import (
	"context"
	"errors"
	"fmt"
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
		Contacts: []string{"Ann Vendor <ann.vendor@acme.com>", "acme.owner@gmail.com", `"John Smith"@acme.com`, `"sales, emea"@acme.com`}},
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
	// A telecom supplier whose domain is on the list as an ISP's.
	{ID: "sky", Name: "Sky UK", Tracked: true, Domains: []string{"sky.com"}},
	// A consultancy whose consultant has a guest mailbox on the tenant's
	// domain.
	{ID: "deloitte", Name: "Deloitte", Tracked: true, Domains: []string{"deloitte.example"}, Contacts: []string{"jane.guest@contoso.com"}},
	// Bad data: a vendor claims the tenant's own domain.
	{ID: "rogue", Name: "Rogue", Tracked: true, Domains: []string{"contoso.com"}},
}

var internal = []string{"contoso.com", "contoso.onmicrosoft.com"}

// names are the directory's vendor names by ID.
var names = func() map[string]string {
	m := map[string]string{}
	for _, v := range directory {
		m[v.ID] = v.Name
	}
	return m
}()

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
	return match.Result{Matches: []match.Match{{VendorID: vendor, VendorName: names[vendor], Rule: rule, Key: key, Confidence: confidence, Participant: part(addr, norm)}}}
}

func dropped(addr, norm string, reason match.Reason, rule match.Rule, key string, candidates ...string) match.Result {
	d := match.Dropped{Participant: part(addr, norm), Reason: reason, Rule: rule, Key: key, Candidates: candidates}
	for _, c := range candidates {
		d.CandidateNames = append(d.CandidateNames, names[c])
	}
	return match.Result{Dropped: []match.Dropped{d}}
}

// pinned sets the pin that decided r's one match or drop.
func pinned(r match.Result, kind match.PinKind, key, vendor string) match.Result {
	p := match.Pin{Kind: kind, Key: key, VendorID: vendor}
	if len(r.Matches) == 1 {
		r.Matches[0].Pin = p
	} else {
		r.Dropped[0].Pin = p
	}
	return r
}

// category sets the list category that decided r's one drop.
func category(r match.Result, c string) match.Result {
	r.Dropped[0].Category = c
	return r
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
		{"subsidiary domain", "li@acme-logistics.net", matched("li@acme-logistics.net", "li@acme-logistics.net", "acme", match.RuleDomain, "acme-logistics.net", domain)},
		{"gmail contact", "acme.owner@gmail.com", matched("acme.owner@gmail.com", "acme.owner@gmail.com", "acme", match.RuleContact, "acme.owner@gmail.com", contact)},
		{"gmail contact, tagged, mixed case", "Acme.Owner+Invoices@GMAIL.com", matched("Acme.Owner+Invoices@GMAIL.com", "acme.owner@gmail.com", "acme", match.RuleContact, "acme.owner@gmail.com", contact)},
		{"gmail stranger", "random.person@gmail.com", category(dropped("random.person@gmail.com", "random.person@gmail.com", match.ReasonFreemail, "", "gmail.com"), match.CategoryFreemail)},
		{"outlook contact", "solo.consultant@outlook.com", matched("solo.consultant@outlook.com", "solo.consultant@outlook.com", "solo", match.RuleContact, "solo.consultant@outlook.com", contact)},
		{"outlook stranger", "someone@Outlook.com", category(dropped("someone@Outlook.com", "someone@outlook.com", match.ReasonFreemail, "", "outlook.com"), match.CategoryFreemail)},
		{"ISP customer", "sam@sky.com", category(dropped("sam@sky.com", "sam@sky.com", match.ReasonFreemail, "", "sky.com"), match.CategoryISP)},
		{"disposable inbox", "x@mailinator.com", category(dropped("x@mailinator.com", "x@mailinator.com", match.ReasonFreemail, "", "mailinator.com"), match.CategoryDisposable)},
		{"taken off the free-mail list", "ceo@mail.com", matched("ceo@mail.com", "ceo@mail.com", "mailco", match.RuleDomain, "mail.com", domain)},
		{"added to the free-mail list", "x@corp-mail.example", category(dropped("x@corp-mail.example", "x@corp-mail.example", match.ReasonFreemail, "", "corp-mail.example"), match.CategoryFreemail)},
		{"internal", "bob@contoso.com", dropped("bob@contoso.com", "bob@contoso.com", match.ReasonInternal, "", "contoso.com")},
		{"internal subdomain", "it@eu.contoso.com", dropped("it@eu.contoso.com", "it@eu.contoso.com", match.ReasonInternal, "", "contoso.com")},
		{"internal onmicrosoft", "bob@Contoso.onmicrosoft.com", dropped("bob@Contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com", match.ReasonInternal, "", "contoso.onmicrosoft.com")},
		{"internal beats a vendor's domain claim", "alice@contoso.com", dropped("alice@contoso.com", "alice@contoso.com", match.ReasonInternal, "", "contoso.com")},
		{"a known contact on the internal domain", "Jane.Guest@contoso.com", matched("Jane.Guest@contoso.com", "jane.guest@contoso.com", "deloitte", match.RuleContact, "jane.guest@contoso.com", contact)},
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
		{"pinned address", "billing+inv@paypal.com", pinned(matched("billing+inv@paypal.com", "billing@paypal.com", "globex", match.RuleOverride, "billing@paypal.com", 1), match.PinAddress, "billing@paypal.com", "globex")},
		{"pinned domain", "dev@eng.hooli.io", pinned(matched("dev@eng.hooli.io", "dev@eng.hooli.io", "globex", match.RuleOverride, "hooli.io", 1), match.PinDomainAndSubdomains, "hooli.io", "globex")},
		{"pin beats internal", "ext@partner.contoso.com", pinned(matched("ext@partner.contoso.com", "ext@partner.contoso.com", "acme", match.RuleOverride, "partner.contoso.com", 1), match.PinDomainAndSubdomains, "partner.contoso.com", "acme")},
		{"pinned to an untracked vendor", "ops@initech-partner.example", pinned(dropped("ops@initech-partner.example", "ops@initech-partner.example", match.ReasonUntracked, match.RuleOverride, "ops@initech-partner.example", "initech"), match.PinAddress, "ops@initech-partner.example", "initech")},
		{"pinned to an unknown vendor", "x@ghost.example", pinned(dropped("x@ghost.example", "x@ghost.example", match.ReasonUnknownVendor, match.RuleOverride, "x@ghost.example", "ghost"), match.PinAddress, "x@ghost.example", "ghost")},
		{"ignored domain", "x@spam.acme.com", pinned(dropped("x@spam.acme.com", "x@spam.acme.com", match.ReasonIgnored, "", "spam.acme.com"), match.PinDomainAndSubdomains, "spam.acme.com", "")},
		{"ignored subdomain", "x@eu.spam.acme.com", pinned(dropped("x@eu.spam.acme.com", "x@eu.spam.acme.com", match.ReasonIgnored, "", "spam.acme.com"), match.PinDomainAndSubdomains, "spam.acme.com", "")},
		{"ignored address", "newsletter@globex.com", pinned(dropped("newsletter@globex.com", "newsletter@globex.com", match.ReasonIgnored, "", "newsletter@globex.com"), match.PinAddress, "newsletter@globex.com", "")},
		{"unknown", "stranger@unknown.example", dropped("stranger@unknown.example", "stranger@unknown.example", match.ReasonNoVendor, "", "")},
		{"not an address", "not an address", dropped("not an address", "", match.ReasonInvalid, "", "")},
		{"single-label domain", "root@localhost", dropped("root@localhost", "", match.ReasonInvalid, "", "")},
		{"empty", "", dropped("", "", match.ReasonInvalid, "", "")},
		{"blank", "  ", dropped("  ", "", match.ReasonInvalid, "", "")},

		// Quoted local parts: one key for contacts, pins and lookups.
		{"quoted contact", `"John Smith"@acme.com`, matched(`"John Smith"@acme.com`, `"john smith"@acme.com`, "acme", match.RuleContact, `"john smith"@acme.com`, contact)},
		{"quoted contact with a name", `"Smith, John" <"john smith"@ACME.com>`, matched(`"Smith, John" <"john smith"@ACME.com>`, `"john smith"@acme.com`, "acme", match.RuleContact, `"john smith"@acme.com`, contact)},
		{"quoted contact with a comma", `"Sales, EMEA"@acme.com`, matched(`"Sales, EMEA"@acme.com`, `"sales, emea"@acme.com`, "acme", match.RuleContact, `"sales, emea"@acme.com`, contact)},
		{"quoted stranger at a vendor", `"a@b"@acme.com`, matched(`"a@b"@acme.com`, `"a@b"@acme.com`, "acme", match.RuleDomain, "acme.com", domain)},
		{"quoted local part with a comma", `"x,y"@globex.com`, matched(`"x,y"@globex.com`, `"x,y"@globex.com`, "globex", match.RuleDomain, "globex.com", domain)},
		{"quoted at the tenant", `"a@b"@contoso.com`, dropped(`"a@b"@contoso.com`, `"a@b"@contoso.com`, match.ReasonInternal, "", "contoso.com")},
		{"needlessly quoted contact", `"Hank"@globex.com`, matched(`"Hank"@globex.com`, "hank@globex.com", "globex", match.RuleContact, "hank@globex.com", contact)},
		{"quoted, not a domain of ours", `"a@globex.com"@unknown.example`, dropped(`"a@globex.com"@unknown.example`, `"a@globex.com"@unknown.example`, match.ReasonNoVendor, "", "")},

		// mailto: every prefix.
		{"mailto twice", "mailto:MAILTO:hank@globex.com", matched("mailto:MAILTO:hank@globex.com", "hank@globex.com", "globex", match.RuleContact, "hank@globex.com", contact)},
		{"mailto twice, nothing else", "mAilto:mAilto:@0.0", dropped("mAilto:mAilto:@0.0", "", match.ReasonInvalid, "", "")},

		// IP addresses and public suffixes are invalid, not unknown.
		{"bare IP", "ann@192.0.2.7", dropped("ann@192.0.2.7", "", match.ReasonInvalid, "", "")},
		{"IP literal", "ann@[192.0.2.7]", dropped("ann@[192.0.2.7]", "", match.ReasonInvalid, "", "")},
		{"public suffix alone", "ann@co.uk", dropped("ann@co.uk", "", match.ReasonInvalid, "", "")},
		{"public suffix alone, com.au", "x@com.au", dropped("x@com.au", "", match.ReasonInvalid, "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.MatchAddress(context.Background(), tt.addr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, got.Explain().String())
			// A second time, from the cache.
			again, err := m.MatchAddress(context.Background(), tt.addr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, again, "cached")
		})
	}
}

func TestRoleAddressesDropped(t *testing.T) {
	m := newMatcher(t, match.Config{DropRoleAddresses: true, Overrides: match.Overrides{Pin: map[string]string{"notifications@umbrella.de": "umbrella"}}})
	ctx := context.Background()
	got, err := m.MatchAddress(ctx, "no-reply@globex.com")
	require.NoError(t, err)
	assert.Equal(t, category(dropped("no-reply@globex.com", "no-reply@globex.com", match.ReasonRoleAddress, match.RuleDomain, "globex.com", "globex"), match.CategoryNoReply), got)
	got, err = m.MatchAddress(ctx, "notifications@umbrella.de")
	require.NoError(t, err)
	assert.Equal(t, pinned(matched("notifications@umbrella.de", "notifications@umbrella.de", "umbrella", match.RuleOverride, "notifications@umbrella.de", 0.5),
		match.PinAddress, "notifications@umbrella.de", "umbrella"), got,
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
			{VendorID: "globex", VendorName: "Globex", Rule: match.RuleContact, Key: "hank@globex.com", Confidence: 0.99, Participant: p(0, match.RoleFrom, "Hank Hill", "Hank@Globex.com", "hank@globex.com")},
			{VendorID: "acme", VendorName: "Acme Corporation", Rule: match.RuleParentDomain, Key: "acme.co.uk", Confidence: 0.8, Participant: p(2, match.RoleTo, "", "bob@mail.eu.acme.co.uk", "bob@mail.eu.acme.co.uk")},
			{VendorID: "acme", VendorName: "Acme Corporation", Rule: match.RuleDomain, Key: "acme.com", Confidence: 0.45, Participant: p(8, match.RoleReplyTo, "", "noreply@acme.com", "noreply@acme.com")},
		},
		Dropped: []match.Dropped{
			{Participant: p(1, match.RoleTo, "Alice", "alice@contoso.com", "alice@contoso.com"), Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: p(4, match.RoleCc, "", "pat@umbrella-group.com", "pat@umbrella-group.com"), Reason: match.ReasonAmbiguous, Rule: match.RuleDomain,
				Key: "umbrella-group.com", Candidates: []string{"umbrella", "umbrella-uk"}, CandidateNames: []string{"Umbrella Supplies", "Umbrella UK"}},
			{Participant: p(6, match.RoleCc, "", "friend@gmail.com", "friend@gmail.com"), Reason: match.ReasonFreemail, Key: "gmail.com", Category: match.CategoryFreemail},
			{Participant: p(7, match.RoleBcc, "", "peter@initech.com", "peter@initech.com"), Reason: match.ReasonUntracked, Rule: match.RuleDomain,
				Key: "initech.com", Candidates: []string{"initech"}, CandidateNames: []string{"Initech"}},
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
		"from Hank Hill <hank@globex.com>: vendor Globex (globex), known contact hank@globex.com (confidence 0.99)",
		"to Alice <alice@contoso.com>: no vendor: internal domain contoso.com",
		"to bob@mail.eu.acme.co.uk: vendor Acme Corporation (acme), parent domain acme.co.uk (confidence 0.80)",
		"cc pat@umbrella-group.com: no vendor: domain umbrella-group.com is claimed by several vendors: Umbrella Supplies (umbrella), Umbrella UK (umbrella-uk)",
		"cc friend@gmail.com: no vendor: gmail.com is on the free-mail list (category free-mail), and the address is not a known contact",
		"bcc peter@initech.com: no vendor: domain initech.com of Initech (initech), not tracked",
		"reply-to noreply@acme.com: vendor Acme Corporation (acme), domain acme.com (confidence 0.45), a role address",
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
		Matches: []match.Match{{VendorID: "acme", VendorName: "Acme Corporation", Rule: match.RuleContact, Key: "ann.vendor@acme.com", Confidence: 0.99,
			Participant: match.Participant{Index: 1, Role: match.RoleAttendee, Name: "Ann Vendor", Address: "Ann.Vendor@acme.com", Normalized: "ann.vendor@acme.com"}}},
		Dropped: []match.Dropped{
			{Participant: match.Participant{Index: 0, Role: match.RoleOrganizer, Name: "Alice", Address: "alice@contoso.com", Normalized: "alice@contoso.com"},
				Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: match.Participant{Index: 2, Role: match.RoleAttendee, Name: "Room 1", Address: "room1@contoso.com", Normalized: "room1@contoso.com"},
				Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: match.Participant{Index: 3, Role: match.RoleAttendee, Address: "x@hooli.com", Normalized: "x@hooli.com"},
				Reason: match.ReasonAmbiguous, Rule: match.RuleDomain, Key: "hooli.com", Candidates: []string{"hooli", "hooli-xyz"}, CandidateNames: []string{"Hooli", "Hooli XYZ"}},
		},
	}, got)
	assert.Equal(t, "organizer Alice <alice@contoso.com>: no vendor: internal domain contoso.com\n"+
		"attendee Ann Vendor <ann.vendor@acme.com>: vendor Acme Corporation (acme), known contact ann.vendor@acme.com (confidence 0.99)\n"+
		"attendee Room 1 <room1@contoso.com>: no vendor: internal domain contoso.com\n"+
		"attendee x@hooli.com: no vendor: domain hooli.com is claimed by several vendors: Hooli (hooli), Hooli XYZ (hooli-xyz)\n", got.Explain().String())
}

func TestSetOverrides(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, Overrides: match.Overrides{Pin: map[string]string{"x@ghost.example": "acme"}, Ignore: []string{"spam.acme.com"}}})
	ctx := context.Background()
	c, err := m.SetOverrides(match.Overrides{Pin: map[string]string{"x@ghost.example": "globex", "PAT@umbrella-group.com": "umbrella"},
		Ignore: []string{"spam.acme.com", "initech.com"}, NotFreemail: []string{"mail.com"}})
	require.NoError(t, err)
	assert.Equal(t, match.Change{Domains: []string{"initech.com", "mail.com"}, Addresses: []string{"pat@umbrella-group.com", "x@ghost.example"}}, c)
	assert.Equal(t, match.Overrides{Pins: []match.Pin{
		{Kind: match.PinDomainAndSubdomains, Key: "initech.com"},
		{Kind: match.PinAddress, Key: "pat@umbrella-group.com", VendorID: "umbrella"},
		{Kind: match.PinDomainAndSubdomains, Key: "spam.acme.com"},
		{Kind: match.PinAddress, Key: "x@ghost.example", VendorID: "globex"},
	}, FreemailList: match.ListChanges{Remove: []string{"mail.com"}}}, m.Overrides())

	got, err := m.MatchAddress(ctx, "pat@umbrella-group.com")
	require.NoError(t, err)
	assert.Equal(t, pinned(matched("pat@umbrella-group.com", "pat@umbrella-group.com", "umbrella", match.RuleOverride, "pat@umbrella-group.com", 1),
		match.PinAddress, "pat@umbrella-group.com", "umbrella"), got, "a pin settles an ambiguity")
	got, err = m.MatchAddress(ctx, "peter@initech.com")
	require.NoError(t, err)
	assert.Equal(t, pinned(dropped("peter@initech.com", "peter@initech.com", match.ReasonIgnored, "", "initech.com"), match.PinDomainAndSubdomains, "initech.com", ""), got)

	for _, tt := range []struct {
		o    match.Overrides
		want string
	}{
		{match.Overrides{Pin: map[string]string{"not a key": "acme"}}, `match: pin of "not a key": not a domain a mailbox can be at`},
		{match.Overrides{Pin: map[string]string{"not@an@address": "acme"}}, `match: pin of "not@an@address": not an e-mail address`},
		{match.Overrides{Pin: map[string]string{"acme.com": ""}}, `match: override pins "acme.com" to an empty vendor ID`},
		{match.Overrides{Pin: map[string]string{"acme.com": "acme"}, Ignore: []string{"ACME.com"}}, `match: overrides both pin "acme.com" to "acme" and ignore it`},
		{match.Overrides{Freemail: []string{"x.example"}, NotFreemail: []string{"X.example"}}, `match: "x.example" is both added to and removed from the free-mail list`},
		{match.Overrides{Freemail: []string{"@"}}, `match: free-mail override "@" is not a domain`},
		{match.Overrides{Pins: []match.Pin{{Key: "acme.com", VendorID: "acme"}}}, `match: pin of "acme.com" has no kind`},
		{match.Overrides{Pins: []match.Pin{{Kind: match.PinDomain, Key: "co.uk", VendorID: "acme"}}}, `match: pin of "co.uk": not a domain a mailbox can be at`},
		{match.Overrides{Pins: []match.Pin{{Kind: match.PinDomainAndSubdomains, Key: "192.0.2.7", VendorID: "acme"}}}, `match: pin of "192.0.2.7": not a domain a mailbox can be at`},
		{match.Overrides{Pins: []match.Pin{{Kind: match.PinDomain, Key: "Gmail.com", VendorID: "acme"}}},
			`match: pin of gmail.com to "acme": gmail.com is on the free-mail list (category free-mail); pin an address instead, or set AllowFreemail`},
		{match.Overrides{Pins: []match.Pin{{Kind: match.PinDomainAndSubdomains, Key: "eu.sky.com", VendorID: "sky"}}},
			`match: pin of eu.sky.com to "sky": sky.com is on the free-mail list (category isp); pin an address instead, or set AllowFreemail`},
		{match.Overrides{Pins: []match.Pin{{Kind: match.PinAddress, Key: "a@acme.com", VendorID: "acme"}, {Kind: match.PinAddress, Key: "A+x@acme.com", VendorID: "globex"}}},
			`match: overrides pin "a@acme.com" to both "acme" and "globex"`},
		{match.Overrides{FreemailList: match.ListChanges{Off: []string{"webmail"}}}, `match: free-mail list: no built-in category "webmail" to turn off`},
		{match.Overrides{RoleList: match.ListChanges{Off: []string{"people"}}}, `match: role list: no built-in category "people" to turn off`},
		{match.Overrides{RoleList: match.ListChanges{Add: map[string][]string{"alerts": {"al@rts"}}}}, `match: role list: "al@rts" is not a local part`},
	} {
		_, err := m.SetOverrides(tt.o)
		assert.EqualError(t, err, tt.want)
		_, err = match.New(match.Config{Directory: newIndex(t), Overrides: tt.o})
		assert.EqualError(t, err, tt.want, "New validates as SetOverrides does")
	}
	assert.Contains(t, m.Overrides().Pins, match.Pin{Kind: match.PinAddress, Key: "pat@umbrella-group.com", VendorID: "umbrella"},
		"a refused change leaves the overrides as they were")
}

// TestPins covers each kind of pin, which one decides when several cover
// an address, the free-mail check and its explicit exception, and the pin
// a result reports.
func TestPins(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, Overrides: match.Overrides{Pins: []match.Pin{
		{Kind: match.PinAddress, Key: `"Smith, John" <"John Smith"@Umbrella-Group.com>`, VendorID: "umbrella-uk"},
		{Kind: match.PinDomain, Key: "umbrella-group.com", VendorID: "umbrella"},
		{Kind: match.PinDomainAndSubdomains, Key: "hooli.com", VendorID: "hooli-xyz"},
		{Kind: match.PinDomainAndSubdomains, Key: "legacy.hooli.com", VendorID: "hooli"},
		{Kind: match.PinDomain, Key: "labs.hooli.com"},
		{Kind: match.PinDomain, Key: "outlook.com", VendorID: "solo", AllowFreemail: true},
		{Kind: match.PinAddress, Key: "mailto:acme.ap@gmail.com", VendorID: "acme"},
	}}})
	ctx := context.Background()
	for _, tt := range []struct {
		addr string
		want match.Result
	}{
		// The address pin, written with a quoted local part and a display
		// name, decides for the address however it is written.
		{`"john smith"@umbrella-group.com`, pinned(matched(`"john smith"@umbrella-group.com`, `"john smith"@umbrella-group.com`, "umbrella-uk", match.RuleOverride, `"john smith"@umbrella-group.com`, 1),
			match.PinAddress, `"john smith"@umbrella-group.com`, "umbrella-uk")},
		{`John <"JOHN SMITH+rfq"@umbrella-group.com>`, pinned(matched(`John <"JOHN SMITH+rfq"@umbrella-group.com>`, `"john smith"@umbrella-group.com`, "umbrella-uk", match.RuleOverride, `"john smith"@umbrella-group.com`, 1),
			match.PinAddress, `"john smith"@umbrella-group.com`, "umbrella-uk")},
		// The domain pin covers the domain, before the known contact...
		{"pat@umbrella-group.com", pinned(matched("pat@umbrella-group.com", "pat@umbrella-group.com", "umbrella", match.RuleOverride, "umbrella-group.com", 1),
			match.PinDomain, "umbrella-group.com", "umbrella")},
		{"jo@umbrella-group.com", pinned(matched("jo@umbrella-group.com", "jo@umbrella-group.com", "umbrella", match.RuleOverride, "umbrella-group.com", 1),
			match.PinDomain, "umbrella-group.com", "umbrella")},
		// ...but not its subdomains: they are ambiguous as before.
		{"pat@uk.umbrella-group.com", dropped("pat@uk.umbrella-group.com", "pat@uk.umbrella-group.com", match.ReasonAmbiguous, match.RuleParentDomain, "umbrella-group.com", "umbrella", "umbrella-uk")},
		// A domain-and-subdomains pin covers both; the nearest wins.
		{"x@hooli.com", pinned(matched("x@hooli.com", "x@hooli.com", "hooli-xyz", match.RuleOverride, "hooli.com", 1), match.PinDomainAndSubdomains, "hooli.com", "hooli-xyz")},
		{"x@eu.hooli.com", pinned(matched("x@eu.hooli.com", "x@eu.hooli.com", "hooli-xyz", match.RuleOverride, "hooli.com", 1), match.PinDomainAndSubdomains, "hooli.com", "hooli-xyz")},
		{"x@a.legacy.hooli.com", pinned(dropped("x@a.legacy.hooli.com", "x@a.legacy.hooli.com", match.ReasonUntracked, match.RuleOverride, "legacy.hooli.com", "hooli"),
			match.PinDomainAndSubdomains, "legacy.hooli.com", "hooli")},
		// An exact ignore on one subdomain; its subdomains fall to the tree.
		{"x@labs.hooli.com", pinned(dropped("x@labs.hooli.com", "x@labs.hooli.com", match.ReasonIgnored, "", "labs.hooli.com"), match.PinDomain, "labs.hooli.com", "")},
		{"x@eu.labs.hooli.com", pinned(matched("x@eu.labs.hooli.com", "x@eu.labs.hooli.com", "hooli-xyz", match.RuleOverride, "hooli.com", 1), match.PinDomainAndSubdomains, "hooli.com", "hooli-xyz")},
		// A free-mail domain pinned on purpose, and an address on one.
		{"anyone@outlook.com", func() match.Result {
			r := matched("anyone@outlook.com", "anyone@outlook.com", "solo", match.RuleOverride, "outlook.com", 1)
			r.Matches[0].Pin = match.Pin{Kind: match.PinDomain, Key: "outlook.com", VendorID: "solo", AllowFreemail: true}
			return r
		}()},
		{"Acme.AP+2024@gmail.com", pinned(matched("Acme.AP+2024@gmail.com", "acme.ap@gmail.com", "acme", match.RuleOverride, "acme.ap@gmail.com", 1), match.PinAddress, "acme.ap@gmail.com", "acme")},
	} {
		got, err := m.MatchAddress(ctx, tt.addr)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%s: %s", tt.addr, got.Explain())
	}
	got, err := m.MatchAddress(ctx, "x@eu.hooli.com")
	require.NoError(t, err)
	assert.Equal(t, "address x@eu.hooli.com: vendor Hooli XYZ (hooli-xyz), pinned domain hooli.com and its subdomains (confidence 1.00)\n", got.Explain().String())
	assert.Equal(t, "pin of domain hooli.com and its subdomains to hooli-xyz", got.Matches[0].Pin.String())
	assert.Equal(t, "pin ignoring domain labs.hooli.com", match.Pin{Kind: match.PinDomain, Key: "labs.hooli.com"}.String())
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
		"ann@xn--bcher-kva.example", "ann@XN--BCHER-KVA.example.", "<>", "mailto:", "a@b.c.d.e.f.g.co.uk", `"John Smith"@acme.com`, `"a@b"@globex.com`,
		"mAilto:mAilto:@0.0", "ann@192.0.2.7", "ann@co.uk", "jane.guest@contoso.com", "x@mailinator.com", ""} {
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
		strip := func(r match.Result) match.Result {
			for i := range r.Matches {
				r.Matches[i].Participant.Address = ""
			}
			for i := range r.Dropped {
				r.Dropped[i].Participant.Address = ""
			}
			return r
		}
		if len(r1.Matches)+len(r1.Dropped) != 1 {
			t.Fatalf("%q: one participant, %d outcomes", addr, len(r1.Matches)+len(r1.Dropped))
		}
		if n, ok := vendors.NormalizeAddress(addr); ok {
			if n2, ok2 := vendors.NormalizeAddress(n); !ok2 || n2 != n {
				t.Fatalf("NormalizeAddress(%q) = %q, but NormalizeAddress(%q) = %q, %v", addr, n, n, n2, ok2)
			}
			// The normalised address matches as the address does.
			r3, err := m.MatchAddress(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			assert.Equal(t, strip(r1), strip(r3), "%q and %q", addr, n)
		} else if len(r1.Dropped) != 1 || r1.Dropped[0].Reason != match.ReasonInvalid && r1.Dropped[0].Reason != match.ReasonInternal {
			t.Fatalf("%q is not an address, yet: %v", addr, r1.Explain())
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
		assert.Equal(t, strip(r1), strip(r2), "%q and %q", addr, b)
	})
}

// TestExplanationLines checks the structured explanation and the sentence
// a UI shows for every outcome, with vendors' names.
func TestExplanationLines(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, DropRoleAddresses: true, Overrides: match.Overrides{
		Pin: map[string]string{"x@ghost.example": "ghost", "hooli.io": "globex"}, Ignore: []string{"spam.acme.com"}}})
	msg := &m365link.Message{
		From: m365link.EmailAddress{Name: "Hooli Partner", Address: "dev@hooli.io"},
		To: []m365link.EmailAddress{{Address: "x@ghost.example"}, {Address: "a@spam.acme.com"}, {Address: "noreply@globex.com"},
			{Address: "stranger@unknown.example"}, {Name: "Broken", Address: "broken@"}, {Address: "/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=bob"},
			{Address: "consultant@freelance.example"}, {Address: "li@acme-logistics.net"}},
		Cc: []m365link.EmailAddress{{Address: "sam@sky.com"}, {Name: "Jane (Deloitte)", Address: "jane.guest@contoso.com"}, {Address: "peter@initech.com"},
			{Address: "bob@contoso.com"}, {Address: "ann@co.uk"}},
	}
	r, err := m.MatchMessage(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"from Hooli Partner <dev@hooli.io>: vendor Globex (globex), pinned domain hooli.io and its subdomains (confidence 1.00)",
		"to x@ghost.example: no vendor: the host pinned address x@ghost.example to ghost, which the directory does not have",
		"to a@spam.acme.com: no vendor: the host ignores domain spam.acme.com and its subdomains",
		"to noreply@globex.com: no vendor: a role address (category no-reply), domain globex.com of Globex (globex)",
		"to stranger@unknown.example: no vendor: no vendor claims the address or its domain",
		"to Broken <broken@>: no vendor: not an e-mail address",
		"to /o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=bob: no vendor: an Exchange-internal address",
		"to consultant@freelance.example: no vendor: known contact consultant@freelance.example is claimed by several vendors: Stark Industries (stark), Wayne Enterprises (wayne)",
		"to li@acme-logistics.net: vendor Acme Corporation (acme), domain acme-logistics.net (confidence 0.90)",
		"cc sam@sky.com: no vendor: sky.com is on the free-mail list (category isp), and the address is not a known contact",
		"cc Jane (Deloitte) <jane.guest@contoso.com>: vendor Deloitte (deloitte), known contact jane.guest@contoso.com (confidence 0.99)",
		"cc peter@initech.com: no vendor: domain initech.com of Initech (initech), not tracked",
		"cc bob@contoso.com: no vendor: internal domain contoso.com",
		"cc ann@co.uk: no vendor: not an e-mail address",
	}, "\n")+"\n", r.Explain().String())
	e := r.Explain()
	require.Len(t, e.Lines, 14)
	assert.Same(t, &r.Matches[0], e.Lines[0].Match)
	assert.Nil(t, e.Lines[0].Dropped)
	assert.Same(t, &r.Dropped[0], e.Lines[1].Dropped)
	p := func(i int, role match.Role, name, addr, norm string) match.Participant {
		return match.Participant{Index: i, Role: role, Name: name, Address: addr, Normalized: norm, RoleAddress: match.IsRoleAddress(norm)}
	}
	strip := func(l match.Line) match.Line { l.Match, l.Dropped = nil, nil; return l }
	for i, want := range map[int]match.Line{
		0: {Participant: p(0, match.RoleFrom, "Hooli Partner", "dev@hooli.io", "dev@hooli.io"), VendorID: "globex", VendorName: "Globex", Rule: match.RuleOverride,
			Key: "hooli.io", Confidence: 1, Pin: match.Pin{Kind: match.PinDomainAndSubdomains, Key: "hooli.io", VendorID: "globex"}},
		3: {Participant: p(3, match.RoleTo, "", "noreply@globex.com", "noreply@globex.com"), Reason: match.ReasonRoleAddress, Rule: match.RuleDomain, Key: "globex.com",
			Category: match.CategoryNoReply, Candidates: []match.Candidate{{ID: "globex", Name: "Globex"}}},
		7: {Participant: p(7, match.RoleTo, "", "consultant@freelance.example", "consultant@freelance.example"), Reason: match.ReasonAmbiguous, Rule: match.RuleContact,
			Key: "consultant@freelance.example", Candidates: []match.Candidate{{ID: "stark", Name: "Stark Industries"}, {ID: "wayne", Name: "Wayne Enterprises"}}},
		9: {Participant: p(9, match.RoleCc, "", "sam@sky.com", "sam@sky.com"), Reason: match.ReasonFreemail, Key: "sky.com", Category: match.CategoryISP},
		10: {Participant: p(10, match.RoleCc, "Jane (Deloitte)", "jane.guest@contoso.com", "jane.guest@contoso.com"), VendorID: "deloitte", VendorName: "Deloitte",
			Rule: match.RuleContact, Key: "jane.guest@contoso.com", Confidence: 0.99},
	} {
		assert.Equal(t, want, strip(e.Lines[i]), "line %d", i)
	}
	assert.Equal(t, match.Explanation{Lines: []match.Line{}}, match.Result{}.Explain())
	assert.Equal(t, "Globex (globex)", match.Candidate{ID: "globex", Name: "Globex"}.String())
	assert.Equal(t, "ghost", match.Candidate{ID: "ghost"}.String())
	for r, want := range map[match.Rule]string{match.RuleContact: "known contact k", match.RuleDomain: "domain k", match.RuleParentDomain: "parent domain k", match.RuleOverride: "override of k"} {
		assert.Equal(t, want, r.Text("k"))
	}
}

// TestEmptyAndNil: an empty address is invalid, not an empty result; a nil
// message or event is an error, not a panic.
func TestEmptyAndNil(t *testing.T) {
	m := newMatcher(t, match.Config{})
	ctx := context.Background()
	got, err := m.MatchAddress(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, match.Result{Dropped: []match.Dropped{{Participant: match.Participant{Role: match.RoleAddress}, Reason: match.ReasonInvalid}}}, got)
	assert.Equal(t, "address (empty): no vendor: not an e-mail address\n", got.Explain().String())

	got, err = m.MatchMessage(ctx, nil)
	assert.EqualError(t, err, "match: nil message or event")
	assert.Equal(t, match.Result{}, got)
	got, err = m.MatchEvent(ctx, nil)
	assert.EqualError(t, err, "match: nil message or event")
	assert.Equal(t, match.Result{}, got)
	_, err = m.MatchItem(ctx, match.Item{ID: "m", Message: nil, Event: nil})
	assert.EqualError(t, err, `match: item "m" must have a message or an event`)

	// A message with no participants has an empty result.
	got, err = m.MatchMessage(ctx, &m365link.Message{To: []m365link.EmailAddress{{Name: "Nobody"}}})
	require.NoError(t, err)
	assert.Equal(t, match.Result{}, got)
}

// TestInternalDomainContact: the exact address is looked up before the
// internal-domain rule, so a vendor's known contact with a mailbox on the
// tenant's domain (a consultant's guest account) matches, while colleagues
// and a vendor's claim of the tenant's domain do not.
func TestInternalDomainContact(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true})
	msg := &m365link.Message{
		From: m365link.EmailAddress{Name: "Alice", Address: "alice@contoso.com"},
		To:   []m365link.EmailAddress{{Name: "Jane", Address: "Jane.Guest+deloitte@Contoso.com"}, {Address: "bob@eu.contoso.com"}},
	}
	got, err := m.MatchMessage(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, match.Result{
		Matches: []match.Match{{VendorID: "deloitte", VendorName: "Deloitte", Rule: match.RuleContact, Key: "jane.guest@contoso.com", Confidence: match.ConfidenceContact,
			Participant: match.Participant{Index: 1, Role: match.RoleTo, Name: "Jane", Address: "Jane.Guest+deloitte@Contoso.com", Normalized: "jane.guest@contoso.com"}}},
		Dropped: []match.Dropped{
			{Participant: match.Participant{Index: 0, Role: match.RoleFrom, Name: "Alice", Address: "alice@contoso.com", Normalized: "alice@contoso.com"},
				Reason: match.ReasonInternal, Key: "contoso.com"},
			{Participant: match.Participant{Index: 2, Role: match.RoleTo, Address: "bob@eu.contoso.com", Normalized: "bob@eu.contoso.com"},
				Reason: match.ReasonInternal, Key: "contoso.com"},
		},
	}, got)
}

// TestLists: the free-mail list's categories, the host's changes to it
// and to the role list, and the category each drop names.
func TestLists(t *testing.T) {
	m := newMatcher(t, match.Config{DropRoleAddresses: true})
	ctx := context.Background()
	for d, want := range map[string]string{"gmail.com": match.CategoryFreemail, "outlook.de": match.CategoryFreemail, "eu.gmail.com": match.CategoryFreemail,
		"telstra.com": match.CategoryISP, "sky.com": match.CategoryISP, "orange.fr": match.CategoryISP, "comcast.net": match.CategoryISP,
		"mailinator.com": match.CategoryDisposable, "yopmail.com": match.CategoryDisposable, "acme.com": "", "not a domain": ""} {
		assert.Equal(t, want, m.FreemailCategory(d), d)
	}
	for a, want := range map[string]string{"noreply@x.com": match.CategoryNoReply, "postmaster@x.com": match.CategorySystem,
		"notifications@x.com": match.CategoryNotification, "auto-reply@x.com": match.CategoryAutoReply, "bounces+1@x.com": match.CategoryBounce,
		"SRS0=abc=ann@x.com": match.CategoryBounce, "ann@x.com": "", "alerts@x.com": "", "x": ""} {
		assert.Equal(t, want, m.RoleCategory(a), a)
	}

	c, err := m.SetOverrides(match.Overrides{
		FreemailList: match.ListChanges{Off: []string{match.CategoryDisposable}, Remove: []string{"sky.com"},
			Add: map[string][]string{"competitors": {"Globex.com"}, match.CategoryISP: {"isp.example"}}},
		RoleList: match.ListChanges{Off: []string{match.CategoryNotification}, Remove: []string{"postmaster"},
			Add: map[string][]string{"alerts": {"alerts", "billing-bot*"}}},
	})
	require.NoError(t, err)
	assert.Contains(t, c.Domains, "mailinator.com", "a category turned off re-matches its domains")
	assert.Subset(t, c.Domains, []string{"globex.com", "isp.example", "sky.com"})
	assert.Equal(t, []string{"alerts", "billing-bot", "notification", "notifications", "notify", "postmaster"}, c.LocalParts)
	for d, want := range map[string]string{"mailinator.com": "", "sky.com": "", "telstra.com": match.CategoryISP, "isp.example": match.CategoryISP,
		"globex.com": "competitors", "gmail.com": match.CategoryFreemail} {
		assert.Equal(t, want, m.FreemailCategory(d), d)
	}
	for a, want := range map[string]string{"notifications@x.com": "", "postmaster@x.com": "", "alerts@x.com": "alerts", "alerts-2@x.com": "alerts",
		"billing-bot42@x.com": "alerts", "noreply@x.com": match.CategoryNoReply} {
		assert.Equal(t, want, m.RoleCategory(a), a)
	}
	assert.Equal(t, match.ListChanges{Add: map[string][]string{"competitors": {"globex.com"}, match.CategoryISP: {"isp.example"}},
		Remove: []string{"sky.com"}, Off: []string{match.CategoryDisposable}}, m.Overrides().FreemailList)

	for _, tt := range []struct {
		addr string
		want match.Result
	}{
		{"hank.friend@globex.com", category(dropped("hank.friend@globex.com", "hank.friend@globex.com", match.ReasonFreemail, "", "globex.com"), "competitors")},
		{"hank@globex.com", matched("hank@globex.com", "hank@globex.com", "globex", match.RuleContact, "hank@globex.com", match.ConfidenceContact)},
		{"x@mailinator.com", dropped("x@mailinator.com", "x@mailinator.com", match.ReasonNoVendor, "", "")},
		{"accounts@sky.com", matched("accounts@sky.com", "accounts@sky.com", "sky", match.RuleDomain, "sky.com", match.ConfidenceDomain)},
		{"alerts@acme.com", func() match.Result {
			r := category(dropped("alerts@acme.com", "alerts@acme.com", match.ReasonRoleAddress, match.RuleDomain, "acme.com", "acme"), "alerts")
			r.Dropped[0].Participant.RoleAddress = true
			return r
		}()},
		{"notifications@acme.com", matched("notifications@acme.com", "notifications@acme.com", "acme", match.RuleDomain, "acme.com", match.ConfidenceDomain)},
	} {
		got, err := m.MatchAddress(ctx, tt.addr)
		require.NoError(t, err)
		if tt.addr == "notifications@acme.com" {
			tt.want.Matches[0].Participant.RoleAddress = false // off in this matcher
		}
		assert.Equal(t, tt.want, got, tt.addr)
	}
}

// versionedDirectory is a host's directory that says when it changes, so
// the matcher caches its answers.
type versionedDirectory struct {
	fakeDirectory
	version uint64
}

func (d *versionedDirectory) Version() uint64 { return d.version }

// TestCacheEvictsGradually cycles through twice as many addresses as the
// cache holds: a cache that starts afresh when full (or evicts the least
// recently used) would answer none of them from memory; this one keeps
// answering a share, and forgets everything when the directory changes.
func TestCacheEvictsGradually(t *testing.T) {
	dir := &versionedDirectory{fakeDirectory: fakeDirectory{claims: map[vendors.Key][]vendors.Hit{
		{Kind: vendors.KeyDomain, Value: "acme.com"}: {{VendorID: "acme", Name: "Acme", Tracked: true}}}}}
	m := newMatcher(t, match.Config{Directory: dir})
	ctx := context.Background()
	addrs := make([]string, 2*match.CacheSize)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("p%d@acme.com", i)
	}
	pass := func() int {
		before := dir.lookups
		for _, a := range addrs {
			r, err := m.MatchAddress(ctx, a)
			require.NoError(t, err)
			require.Len(t, r.Matches, 1)
		}
		return dir.lookups - before
	}
	assert.Equal(t, len(addrs), pass(), "first sightings are not cached")
	pass()
	misses := pass()
	t.Logf("working set 2x the cache: %.0f%% answered from the cache", 100-100*float64(misses)/float64(len(addrs)))
	assert.Less(t, misses, len(addrs)*9/10, "a working set twice the cache still hits")
	assert.Greater(t, misses, len(addrs)/2, "but not everything fits")

	dir.version++
	assert.Equal(t, len(addrs), pass(), "a new version of the directory: nothing cached holds")
	// Answers under the old version give way at once.
	misses = pass()
	t.Logf("after a new version: %.0f%% answered from the cache", 100-100*float64(misses)/float64(len(addrs)))
	assert.Less(t, misses, len(addrs)*7/10, "new answers replace stale ones")
}

// TestBatches: MatchMessages and MatchAddresses give each item the result
// it has alone, ask the directory once for all, and keep items apart (an
// address repeated in two messages counts in both).
func TestBatches(t *testing.T) {
	dir := &fakeDirectory{claims: map[vendors.Key][]vendors.Hit{
		{Kind: vendors.KeyDomain, Value: "acme.com"}:      {{VendorID: "acme", Name: "Acme", Tracked: true}},
		{Kind: vendors.KeyContact, Value: "ann@acme.com"}: {{VendorID: "acme", Name: "Acme", Tracked: true}},
		{Kind: vendors.KeyDomain, Value: "globex.com"}:    {{VendorID: "globex", Name: "Globex", Tracked: true}},
	}}
	m := newMatcher(t, match.Config{Directory: dir})
	ctx := context.Background()
	msgs := []m365link.Message{
		{From: m365link.EmailAddress{Address: "ann@acme.com"}, To: []m365link.EmailAddress{{Address: "bob@contoso.com"}, {Address: "Ann+x@acme.com"}}},
		{From: m365link.EmailAddress{Address: "hank@globex.com"}, Cc: []m365link.EmailAddress{{Address: "ann@acme.com"}, {Address: "x@192.0.2.7"}}},
		{},
	}
	var want []match.Result
	for i := range msgs {
		r, err := m.MatchMessage(ctx, &msgs[i])
		require.NoError(t, err)
		want = append(want, r)
	}
	dir.lookups = 0
	got, err := m.MatchMessages(ctx, msgs)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, 1, dir.lookups, "one lookup for the batch")
	assert.Equal(t, []string{"acme"}, got[0].Vendors())
	assert.Equal(t, []string{"globex", "acme"}, got[1].Vendors())
	assert.Equal(t, match.Result{}, got[2])

	addrs := []string{"ann@acme.com", "", "ann@acme.com", "x@globex.com", "x@co.uk"}
	got, err = m.MatchAddresses(ctx, addrs)
	require.NoError(t, err)
	require.Len(t, got, len(addrs))
	for i, a := range addrs {
		r, err := m.MatchAddress(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, r, got[i], a)
	}

	dir.err = errors.New("connection refused")
	_, err = m.MatchMessages(ctx, msgs)
	assert.EqualError(t, err, "match: directory lookup: connection refused")
	got, err = m.MatchAddresses(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}
