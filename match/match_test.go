package match_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/vendors"
)

var directory = []vendors.Vendor{
	{ID: "acme", Name: "Acme Corporation", Tracked: true,
		Domains:  []string{"acme.com", "acme.co.uk", "acme.com.au"},
		Contacts: []string{"ann.vendor@acme.com", "acme.owner@gmail.com"}},
	{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}, Contacts: []string{"hank@globex.com"}},
	{ID: "initech", Name: "Initech", Tracked: false, Domains: []string{"initech.com"}},
	// Two vendors claim one domain: a reseller and its parent.
	{ID: "umbrella", Name: "Umbrella Supplies", Tracked: true, Domains: []string{"umbrella-group.com", "umbrella.de"}},
	{ID: "umbrella-uk", Name: "Umbrella UK", Tracked: true, Domains: []string{"umbrella-group.com"}, Contacts: []string{"jo@umbrella-group.com"}},
	{ID: "bucher", Name: "Bücher GmbH", Tracked: true, Domains: []string{"bücher.example"}},
	// A known contact on a free-mail domain, and a vendor on a domain a host un-free-mails.
	{ID: "solo", Name: "Solo Consultant", Tracked: true, Contacts: []string{"Solo.Consultant@outlook.com"}},
	{ID: "mailco", Name: "Mail.com Inc", Tracked: true, Domains: []string{"mail.com"}},
}

func newMatcher(t *testing.T, cfg match.Config) *match.Matcher {
	t.Helper()
	x, err := vendors.NewIndex(directory)
	require.NoError(t, err)
	cfg.Directory = x
	if cfg.InternalDomains == nil {
		cfg.InternalDomains = []string{"contoso.com", "contoso.onmicrosoft.com"}
	}
	m, err := match.New(cfg)
	require.NoError(t, err)
	return m
}

type want struct {
	vendor     string
	rule       match.Rule
	key        string
	confidence float64
	reason     match.Reason
	candidates []string
	role       bool
}

func TestRules(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true, FreemailRemove: []string{"mail.com"},
		Overrides: match.Overrides{Pin: map[string]string{"billing@paypal.com": "globex", "hooli.io": "globex"}, Ignore: []string{"ann.vendor@acme.com", "spam.acme.com"}}})
	tests := []struct {
		addr string
		want want
	}{
		{"Hank@Globex.com", want{vendor: "globex", rule: match.RuleContact, key: "hank@globex.com", confidence: 0.99}},
		{"hank+rfq@globex.com", want{vendor: "globex", rule: match.RuleContact, key: "hank@globex.com", confidence: 0.99}},
		{"Someone Else <someone@GLOBEX.com>", want{vendor: "globex", rule: match.RuleDomain, key: "globex.com", confidence: 0.9}},
		{"bob@acme.co.uk", want{vendor: "acme", rule: match.RuleDomain, key: "acme.co.uk", confidence: 0.9}},
		{"bob@mail.eu.acme.co.uk", want{vendor: "acme", rule: match.RuleParentDomain, key: "acme.co.uk", confidence: 0.8}},
		{"ops@sydney.acme.com.au", want{vendor: "acme", rule: match.RuleParentDomain, key: "acme.com.au", confidence: 0.8}},
		{"acme.owner@gmail.com", want{vendor: "acme", rule: match.RuleContact, key: "acme.owner@gmail.com", confidence: 0.99}},
		{"random.person@gmail.com", want{reason: match.ReasonFreemail}},
		{"solo.consultant@outlook.com", want{vendor: "solo", rule: match.RuleContact, key: "solo.consultant@outlook.com", confidence: 0.99}},
		{"someone@outlook.com", want{reason: match.ReasonFreemail}},
		{"ceo@mail.com", want{vendor: "mailco", rule: match.RuleDomain, key: "mail.com", confidence: 0.9}},
		{"alice@contoso.com", want{reason: match.ReasonInternal}},
		{"alice@eu.contoso.com", want{reason: match.ReasonInternal}},
		{"bob@contoso.onmicrosoft.com", want{reason: match.ReasonInternal}},
		{"jo@umbrella-group.com", want{vendor: "umbrella-uk", rule: match.RuleContact, key: "jo@umbrella-group.com", confidence: 0.99}},
		{"pat@umbrella-group.com", want{reason: match.ReasonAmbiguous, candidates: []string{"umbrella", "umbrella-uk"}}},
		{"info@umbrella.de", want{vendor: "umbrella", rule: match.RuleDomain, key: "umbrella.de", confidence: 0.9}},
		{"info@BÜCHER.example", want{vendor: "bucher", rule: match.RuleDomain, key: "xn--bcher-kva.example", confidence: 0.9}},
		{"info@xn--bcher-kva.example", want{vendor: "bucher", rule: match.RuleDomain, key: "xn--bcher-kva.example", confidence: 0.9}},
		{"peter@initech.com", want{reason: match.ReasonUntracked, candidates: []string{"initech"}}},
		{"noreply@globex.com", want{vendor: "globex", rule: match.RuleDomain, key: "globex.com", confidence: 0.45, role: true}},
		{"MAILER-DAEMON@acme.com", want{vendor: "acme", rule: match.RuleDomain, key: "acme.com", confidence: 0.45, role: true}},
		{"bounces-123@acme.com", want{vendor: "acme", rule: match.RuleDomain, key: "acme.com", confidence: 0.45, role: true}},
		{"billing@paypal.com", want{vendor: "globex", rule: match.RuleOverride, key: "billing@paypal.com", confidence: 1}},
		{"dev@eng.hooli.io", want{vendor: "globex", rule: match.RuleOverride, key: "hooli.io", confidence: 1}},
		{"ann.vendor@acme.com", want{reason: match.ReasonIgnored}},
		{"x@spam.acme.com", want{reason: match.ReasonIgnored}},
		{"stranger@unknown.example", want{reason: match.ReasonNoVendor}},
		{"not an address", want{reason: match.ReasonInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			r, err := m.MatchAddress(context.Background(), tt.addr)
			require.NoError(t, err)
			if tt.want.vendor != "" {
				require.Len(t, r.Matches, 1, r.Explain())
				got := r.Matches[0]
				assert.Equal(t, tt.want.vendor, got.VendorID)
				assert.Equal(t, tt.want.rule, got.Rule)
				assert.Equal(t, tt.want.key, got.Key)
				assert.InDelta(t, tt.want.confidence, got.Confidence, 1e-9)
				assert.Equal(t, tt.want.role, got.Participant.RoleAddress)
				assert.Empty(t, r.Dropped)
				return
			}
			assert.Empty(t, r.Matches, r.Explain())
			require.Len(t, r.Dropped, 1)
			assert.Equal(t, tt.want.reason, r.Dropped[0].Reason)
			assert.Equal(t, tt.want.candidates, r.Dropped[0].Vendors)
		})
	}
}

func TestMessageAndExplanation(t *testing.T) {
	m := newMatcher(t, match.Config{TrackedOnly: true})
	msg := &m365link.Message{
		From:   m365link.EmailAddress{Name: "Hank", Address: "hank@globex.com"},
		Sender: m365link.EmailAddress{Address: "hank@globex.com"},
		To:     []m365link.EmailAddress{{Name: "Alice", Address: "alice@contoso.com"}, {Address: "bob@mail.eu.acme.co.uk"}},
		Cc:     []m365link.EmailAddress{{Address: "pat@umbrella-group.com"}, {Address: "Hank+cc@globex.com"}},
		Bcc:    []m365link.EmailAddress{{Address: "peter@initech.com"}},
	}
	r, err := m.MatchMessage(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, []string{"globex", "acme"}, r.Vendors())
	assert.Equal(t, []match.Dropped{{Participant: match.Participant{Address: "pat@umbrella-group.com", Normalized: "pat@umbrella-group.com", Role: match.RoleCc},
		Reason: match.ReasonAmbiguous, Vendors: []string{"umbrella", "umbrella-uk"}, Rule: match.RuleDomain}}, r.Ambiguous())
	assert.Equal(t, strings.Join([]string{
		`hank@globex.com (from): vendor globex by contact "hank@globex.com", confidence 0.99`,
		`bob@mail.eu.acme.co.uk (to): vendor acme by parent domain "acme.co.uk", confidence 0.80`,
		`alice@contoso.com (to): no vendor: internal domain`,
		`pat@umbrella-group.com (cc): no vendor: claimed by several vendors (umbrella, umbrella-uk)`,
		`peter@initech.com (bcc): no vendor: vendor not tracked (initech)`,
	}, "\n")+"\n", r.Explain())

	ev := &m365link.Event{Organizer: m365link.EmailAddress{Address: "alice@contoso.com"},
		Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "ann@acme.com"}}, {EmailAddress: m365link.EmailAddress{Address: "room1@contoso.com"}}}}
	r, err = m.MatchEvent(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, []string{"acme"}, r.Vendors())
	assert.Equal(t, match.RoleAttendee, r.Matches[0].Participant.Role)
}

func TestWithoutTrackedFilterUntrackedVendorsMatch(t *testing.T) {
	m := newMatcher(t, match.Config{})
	r, err := m.MatchAddress(context.Background(), "peter@initech.com")
	require.NoError(t, err)
	assert.Equal(t, []string{"initech"}, r.Vendors())
}

func TestFreemailList(t *testing.T) {
	m := newMatcher(t, match.Config{FreemailAdd: []string{"corp-mail.example"}, FreemailRemove: []string{"gmx.de"}})
	for _, d := range []string{"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me", "qq.com", "web.de", "corp-mail.example"} {
		assert.True(t, m.Freemail(d), d)
	}
	for _, d := range []string{"acme.com", "gmx.de", "contoso.com"} {
		assert.False(t, m.Freemail(d), d)
	}
}

func FuzzMatchIsStableUnderCase(f *testing.F) {
	for _, s := range []string{"Hank@Globex.com", "bob@mail.eu.acme.co.uk", "x@bücher.example", "pat@umbrella-group.com", "a@b", "@", "Zoë <zoe@ACME.com>"} {
		f.Add(s)
	}
	x, _ := vendors.NewIndex(directory)
	m, _ := match.New(match.Config{Directory: x, InternalDomains: []string{"contoso.com"}, TrackedOnly: true})
	f.Fuzz(func(t *testing.T, addr string) {
		r1, err := m.MatchAddress(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := m.MatchAddress(context.Background(), strings.ToUpper(addr))
		if err != nil {
			t.Fatal(err)
		}
		// Upper-casing can change a non-ASCII letter's identity (ß → SS), so
		// the check is for inputs upper-casing maps back exactly.
		if strings.ToLower(strings.ToUpper(addr)) != strings.ToLower(addr) {
			return
		}
		if strings.Join(r1.Vendors(), ",") != strings.Join(r2.Vendors(), ",") {
			t.Fatalf("%q matched %v but %q matched %v", addr, r1.Vendors(), strings.ToUpper(addr), r2.Vendors())
		}
	})
}

func TestTrackingChangesTakeEffectAtOnce(t *testing.T) {
	x, err := vendors.NewIndex(directory)
	require.NoError(t, err)
	m, err := match.New(match.Config{Directory: x, TrackedOnly: true})
	require.NoError(t, err)
	ctx := context.Background()
	r, _ := m.MatchAddress(ctx, "hank@globex.com")
	assert.Equal(t, []string{"globex"}, r.Vendors())
	require.NoError(t, x.Put(vendors.Vendor{ID: "globex", Name: "Globex", Tracked: false, Domains: []string{"globex.com"}, Contacts: []string{"hank@globex.com"}}))
	r, _ = m.MatchAddress(ctx, "hank@globex.com")
	assert.Empty(t, r.Vendors())
	assert.Equal(t, match.ReasonUntracked, r.Dropped[0].Reason)
	r, _ = m.MatchAddress(ctx, "other@globex.com")
	assert.Equal(t, match.ReasonUntracked, r.Dropped[0].Reason, "the cached domain outcome was dropped with the change")
}
