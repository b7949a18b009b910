package fakegraph_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

func seeded(t *testing.T, spec fakegraph.SeedSpec) (*fakegraph.Server, *fakegraph.SeedResult) {
	t.Helper()
	s := fakegraph.New(fakegraph.WithClock(func() time.Time { return t0 }))
	t.Cleanup(s.Close)
	return s, fakegraph.Seed(s, spec)
}

func TestSeedIsDeterministic(t *testing.T) {
	spec := fakegraph.SeedSpec{Tenants: 2, Mailboxes: 3, NotMailEnabled: 1, MessagesPerMailbox: 40, EventsPerMailbox: 12, ContactsPerMailbox: 5, Vendors: 6, Seed: 42}
	s1, r1 := seeded(t, spec)
	s2, r2 := seeded(t, spec)
	require.Equal(t, r1, r2)
	for _, mb := range r1.Mailboxes {
		for _, id := range append(mb.Inbox, mb.SentItems...) {
			m1, ok1 := s1.Message(mb.User.ID, id)
			m2, ok2 := s2.Message(mb.User.ID, id)
			require.True(t, ok1 && ok2)
			require.Equal(t, m1, m2)
		}
	}
	// The same HTTP answers, byte for byte, apart from the origin.
	mb := r1.Mailboxes[0]
	b1 := get(t, s1, s1.URL()+"/users/"+mb.User.UPN+"/mailFolders/inbox/messages/delta").Body
	b2 := get(t, s2, s2.URL()+"/users/"+mb.User.UPN+"/mailFolders/inbox/messages/delta").Body
	assert.Equal(t, strings.ReplaceAll(string(b1), s1.Origin(), ""), strings.ReplaceAll(string(b2), s2.Origin(), ""))

	spec.Seed = 43
	s3, r3 := seeded(t, spec)
	subjects := func(s *fakegraph.Server, mb fakegraph.SeedMailbox) []string {
		var out []string
		for _, id := range mb.Inbox[:5] {
			m, _ := s.Message(mb.User.ID, id)
			out = append(out, m.Subject)
		}
		return out
	}
	assert.NotEqual(t, subjects(s1, mb), subjects(s3, r3.Mailboxes[0]), "another seed, other data")
}

func TestSeedShape(t *testing.T) {
	s, r := seeded(t, fakegraph.SeedSpec{Tenants: 2, Mailboxes: 4, NotMailEnabled: 1, MessagesPerMailbox: 60, EventsPerMailbox: 10, ContactsPerMailbox: 4, Vendors: 33, Seed: 7})
	require.Len(t, r.Tenants, 2)
	assert.Equal(t, []string{"contoso.com"}, r.Tenants[0].Tenant.Domains)
	assert.Equal(t, []string{"fabrikam.com"}, r.Tenants[1].Tenant.Domains)
	contoso := r.Tenants[0]
	require.Len(t, contoso.Users, 5)
	assert.Equal(t, "alice@contoso.com", contoso.Users[0].UPN)
	assert.Equal(t, "bob@contoso.com", contoso.Users[1].UPN)
	assert.False(t, contoso.Users[4].MailEnabled)
	assert.Equal(t, http.StatusNotFound, get(t, s, s.URL()+"/users/"+contoso.Users[4].UPN+"/mailFolders").Status)
	require.Len(t, contoso.Groups, 3)

	// The nested group resolves to the first half of the mailboxes plus the last.
	var members struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	nested := contoso.Groups[2]
	require.NoError(t, jsonUnmarshal(get(t, s, s.URL()+"/groups/"+nested.ID+"/transitiveMembers/microsoft.graph.user").Body, &members))
	var got []string
	for _, m := range members.Value {
		got = append(got, m.ID)
	}
	assert.Equal(t, []string{contoso.Users[3].ID, contoso.Users[0].ID, contoso.Users[1].ID}, got)

	require.Len(t, r.Vendors, 33)
	assert.Equal(t, "Acme Corporation", r.Vendors[0].Name)
	assert.Equal(t, []string{"acme.com", "acme.co.uk", "mail.eu.acme.co.uk"}, r.Vendors[0].Domains)
	assert.Equal(t, []string{"acme2.com", "acme2.co.uk", "mail.eu.acme2.co.uk"}, r.Vendors[32].Domains)
	freeMail := 0
	for _, v := range r.Vendors {
		for _, c := range v.Contacts {
			if strings.HasSuffix(c.Address, "@gmail.com") || strings.HasSuffix(c.Address, "@outlook.com") {
				freeMail++
			}
		}
	}
	assert.Equal(t, 11, freeMail) // every third vendor

	require.Len(t, r.Mailboxes, 8)
	for _, mb := range r.Mailboxes {
		assert.Equal(t, 60, len(mb.Inbox)+len(mb.SentItems))
		assert.Len(t, mb.Events, 10)
		assert.Len(t, mb.Contacts, 4)
		pages, _ := round(t, s, s.URL()+"/users/"+mb.User.ID+"/mailFolders/sentitems/messages/delta", "Prefer", "odata.maxpagesize=1000")
		assert.Equal(t, plus(mb.SentItems...), pages[0])
	}

	// Threads share a conversation; sent mail comes from the user.
	mb := r.Mailboxes[0]
	convs := map[string]int{}
	for _, id := range append(mb.Inbox, mb.SentItems...) {
		m, _ := s.Message(mb.User.ID, id)
		convs[m.ConversationID]++
		assert.True(t, strings.HasPrefix(m.InternetMessageID, "<") && strings.HasSuffix(m.InternetMessageID, "@"+domainOf(m.From.Address)+">"), m.InternetMessageID)
		assert.False(t, m.ReceivedDateTime.Before(time.Date(2026, 8, 22, 0, 0, 0, 0, time.UTC)), m.ReceivedDateTime)
		assert.True(t, m.ReceivedDateTime.Before(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)), m.ReceivedDateTime)
	}
	assert.Less(t, len(convs), 60, "some threads have replies")
	sent, _ := s.Message(mb.User.ID, mb.SentItems[0])
	assert.Equal(t, mb.User.UPN, sent.From.Address)
}

func TestSeedIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 messages")
	}
	start := time.Now()
	_, r := seeded(t, fakegraph.SeedSpec{Mailboxes: 20, MessagesPerMailbox: 1000, EventsPerMailbox: 50, Vendors: 20, Seed: 1})
	require.Len(t, r.Mailboxes, 20)
	// 100 × 1,000 takes about 0.4 s without the race detector (see
	// BenchmarkSeed100x1000, which measures it); this only catches a
	// pathological seed, with room for the race detector on a loaded
	// 2-core machine.
	assert.Less(t, time.Since(start), 30*time.Second)
}

func BenchmarkSeed100x1000(b *testing.B) {
	for b.Loop() {
		s := fakegraph.New()
		fakegraph.Seed(s, fakegraph.SeedSpec{Mailboxes: 100, MessagesPerMailbox: 1000, Vendors: 20, Seed: 1})
		s.Close()
	}
}

// BenchmarkDeltaPage100k measures one 1,000-item page deep into a round
// over 100,000 messages: it must not depend on the folder size.
func BenchmarkDeltaPage100k(b *testing.B) {
	s := fakegraph.New()
	defer s.Close()
	r := fakegraph.Seed(s, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 100000, Vendors: 20, Seed: 1})
	upn := r.Mailboxes[0].User.UPN
	c := s.Client()
	fetch := func(u string) page {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Prefer", "odata.maxpagesize=1000")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var p page
		if err := jsonDecode(resp.Body, &p); err != nil {
			b.Fatal(err)
		}
		return p
	}
	p := fetch(s.URL() + "/users/" + upn + "/mailFolders/inbox/messages/delta?$select=subject,from,receivedDateTime")
	for range 30 {
		p = fetch(p.NextLink)
	}
	deep := p.NextLink
	b.ResetTimer()
	for b.Loop() {
		fetch(deep)
	}
}

// A tenant added by hand can be seeded: no other tenant is made, and the
// users are on its domain.
func TestSeedIntoAnExistingTenant(t *testing.T) {
	s := fakegraph.New()
	t.Cleanup(s.Close)
	tenant := s.AddTenant(fakegraph.Tenant{DisplayName: "Tailspin", Domains: []string{"tailspin.example"}})
	r := fakegraph.Seed(s, fakegraph.SeedSpec{TenantID: tenant.ID, Tenants: 3, Mailboxes: 2, NotMailEnabled: 1, MessagesPerMailbox: 4, Vendors: 1})
	require.Len(t, r.Tenants, 1)
	assert.Equal(t, *tenant, r.Tenants[0].Tenant)
	var upns []string
	for _, u := range r.Tenants[0].Users {
		assert.Equal(t, tenant.ID, u.TenantID)
		upns = append(upns, u.UPN)
	}
	assert.Equal(t, []string{"alice@tailspin.example", "bob@tailspin.example", "carol@tailspin.example"}, upns)
	assert.Len(t, r.Mailboxes, 2)

	inbox, ok := s.FolderID("alice@tailspin.example", "Inbox")
	require.True(t, ok)
	m, _ := s.Message(r.Mailboxes[0].User.ID, r.Mailboxes[0].Inbox[0])
	assert.Equal(t, inbox, m.ParentFolderID)
	id, ok := s.FolderID(r.Mailboxes[0].User.ID, inbox)
	assert.True(t, ok)
	assert.Equal(t, inbox, id)
	_, ok = s.FolderID(r.Mailboxes[0].User.ID, "no such folder")
	assert.False(t, ok)
}

// Newsletters come after everything else, so asking for them changes none
// of the other data.
func TestSeedNewsletters(t *testing.T) {
	spec := fakegraph.SeedSpec{Mailboxes: 2, MessagesPerMailbox: 30, EventsPerMailbox: 4, Vendors: 3, Seed: 9}
	_, plain := seeded(t, spec)
	spec.NewslettersPerMailbox = 5
	s, with := seeded(t, spec)
	for i, mb := range with.Mailboxes {
		require.Len(t, mb.Inbox, len(plain.Mailboxes[i].Inbox)+5)
		assert.Equal(t, plain.Mailboxes[i].Inbox, mb.Inbox[:len(plain.Mailboxes[i].Inbox)])
		assert.Equal(t, plain.Mailboxes[i].SentItems, mb.SentItems)
		assert.Equal(t, plain.Mailboxes[i].Events, mb.Events)
		for _, id := range mb.Inbox[len(plain.Mailboxes[i].Inbox):] {
			m, ok := s.Message(mb.User.ID, id)
			require.True(t, ok)
			from := m.From.Address
			assert.True(t, strings.HasPrefix(from, "news") || strings.HasPrefix(from, "marketing@") || strings.HasPrefix(from, "digest@") || strings.HasPrefix(from, "messages-noreply@"), from)
		}
	}
}
