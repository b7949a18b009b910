package fakegraph

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// SeedSpec sizes the data [Seed] creates. Zero values are small but
// useful: one tenant, no mailboxes.
type SeedSpec struct {
	Tenants int // default 1
	// TenantID, when set, seeds that tenant, already added, instead of
	// adding new ones (Tenants is then 1): its users are made on its first
	// domain.
	TenantID string
	// Mailboxes is the number of mail-enabled users per tenant; the first
	// is alice@<domain>, then bob, carol, ...
	Mailboxes int
	// NotMailEnabled adds that many users per tenant without a mailbox (the
	// mail routes answer 404 MailboxNotEnabledForRESTAPI for them).
	NotMailEnabled     int
	MessagesPerMailbox int // split between inbox and sentitems
	EventsPerMailbox   int // includes the occurrences of a few weekly series
	ContactsPerMailbox int // vendor contacts copied into each mailbox's contacts
	// NewslettersPerMailbox adds that many newsletters to each inbox, from
	// vendors' marketing addresses and trade publications, after the rest
	// (so the other data does not change with it).
	NewslettersPerMailbox int
	Vendors               int
	Seed               uint64
	// Start and End bound the received dates of messages and, widened by
	// two weeks at the end, the event times. Defaults: the 90 days before
	// 2026-11-20T00:00:00Z.
	Start, End time.Time
}

// SeedResult describes what [Seed] created, for tests to assert against.
type SeedResult struct {
	Tenants   []SeedTenant
	Vendors   []SeedVendor
	Mailboxes []SeedMailbox // mail-enabled users of all tenants, in creation order
}

// SeedTenant is one seeded tenant.
type SeedTenant struct {
	Tenant Tenant
	Users  []User // mail-enabled first, then the others
	Groups []Group
}

// SeedVendor is a company the seeded users trade with.
type SeedVendor struct {
	Name     string
	Domains  []string  // the first is the primary domain
	Contacts []Address // people and role addresses on its domains, and a few on free-mail domains
}

// SeedMailbox lists the items seeded into one mailbox, in creation order.
type SeedMailbox struct {
	User      User
	Inbox     []string // message IDs
	SentItems []string
	Events    []string
	Contacts  []string
}

var seedTenants = []struct{ name, domain, zone string }{
	{"Contoso", "contoso.com", "Pacific Standard Time"},
	{"Fabrikam", "fabrikam.com", "Eastern Standard Time"},
	{"Northwind Traders", "northwindtraders.com", "GMT Standard Time"},
	{"Adatum", "adatum.com", "W. Europe Standard Time"},
	{"Tailspin Toys", "tailspintoys.com", "AUS Eastern Standard Time"},
	{"Woodgrove Bank", "woodgrovebank.com", "Central Standard Time"},
	{"Litware", "litware.com", "Tokyo Standard Time"},
	{"Proseware", "proseware.com", "India Standard Time"},
}

var seedVendors = []struct {
	name    string
	domains []string
}{
	{"Acme Corporation", []string{"acme.com", "acme.co.uk", "mail.eu.acme.co.uk"}},
	{"Globex", []string{"globex.com", "globex.com.au"}},
	{"Initech", []string{"initech.com"}},
	{"Umbrella Supplies", []string{"umbrella-supplies.com", "umbrella.de"}},
	{"Stark Industrial", []string{"starkindustrial.com"}},
	{"Wayne Logistics", []string{"waynelogistics.com", "wayne.co.jp", "ops.waynelogistics.com"}},
	{"Hooli", []string{"hooli.com", "hooli.io"}},
	{"Vandelay Industries", []string{"vandelay.com", "vandelay.co.nz"}},
	{"Tyrell Systems", []string{"tyrell.com"}},
	{"Cyberdyne Components", []string{"cyberdyne.com", "cyberdyne.co.uk"}},
	{"Massive Dynamic", []string{"massivedynamic.com"}},
	{"Oscorp Materials", []string{"oscorp.com", "oscorp.com.br"}},
	{"Wonka Confectionery", []string{"wonka.com", "wonka.ch"}},
	{"Soylent Foods", []string{"soylent.com"}},
	{"Pied Piper", []string{"piedpiper.com"}},
	{"Dunder Mifflin Paper", []string{"dundermifflin.com", "dundermifflin.ca"}},
	{"Sterling Cooper", []string{"sterlingcooper.com"}},
	{"Gringotts Finance", []string{"gringotts.co.uk"}},
	{"Prestige Worldwide", []string{"prestigeworldwide.com"}},
	{"Duff Beverages", []string{"duff.com", "duff.com.mx"}},
	{"Bluth Property", []string{"bluth.com"}},
	{"Nakatomi Trading", []string{"nakatomi.co.jp", "nakatomi.com"}},
	{"Monarch Freight", []string{"monarchfreight.com", "monarchfreight.eu"}},
	{"Aperture Labs", []string{"aperturelabs.com"}},
	{"Blue Sun Logistics", []string{"bluesun.com", "bluesun.com.sg"}},
	{"Ollivander Tools", []string{"ollivander.co.uk"}},
	{"Kruger Metals", []string{"kruger-metals.de", "krugermetals.com"}},
	{"Pendant Publishing", []string{"pendant.com"}},
	{"Roxxon Energy", []string{"roxxon.com", "roxxon.no"}},
	{"Sirius Cybernetics", []string{"siriuscybernetics.com"}},
	{"Zorg Facilities", []string{"zorg.fr", "zorg.com"}},
	{"Virtucon Chemicals", []string{"virtucon.com"}},
}

var (
	firstNames = []string{"Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
		"Ken", "Laura", "Mallory", "Nina", "Oscar", "Peggy", "Quentin", "Rita", "Sam", "Tina",
		"Uma", "Victor", "Wendy", "Xavier", "Yara", "Zoe"}
	lastNames = []string{"Smith", "Johnson", "Garcia", "Brown", "Martin", "Müller", "Rossi", "Kowalski", "Nguyen", "O'Brien",
		"Tanaka", "Silva", "Dubois", "Patel", "Andersen", "Cohen", "Ivanova", "Kim", "Schmidt", "Lopez"}
	products = []string{"steel brackets", "office chairs", "laptops", "packaging film", "pallets", "safety gloves",
		"printer toner", "LED panels", "cable trays", "hydraulic hoses", "lab reagents", "shipping cartons"}
	bodies = []string{
		"<html><body><p>Hi,</p><p>Please find the details below and let us know if anything needs to change.</p><p>Kind regards</p></body></html>",
		"<html><body><p>Hello,</p><p>Thanks for your message. We will get back to you by the end of the week.</p></body></html>",
		"<html><body><p>Hi team,</p><p>Attached is the updated document. The totals changed on page 2.</p><p>Best</p></body></html>",
		"Hi,\r\n\r\nConfirming the delivery date we discussed on the phone.\r\n\r\nThanks",
		"<html><body><div>Quick reminder about the open items &amp; the deadline on Friday.</div></body></html>",
		"<html><body><p>Good morning,</p><p>Could you send the signed copy back to us? We need it for our records.</p></body></html>",
	}
	newsletters = []Address{
		{"Supply Chain Weekly", "newsletter@supplychainweekly.example"},
		{"Procurement Today", "digest@procurementtoday.example"},
		{"LinkedIn", "messages-noreply@linkedin.com"},
	}
	newsletterSubjects = []string{"This week in supply chain", "Price index update", "Webinar invitation: smarter sourcing",
		"New product range", "Our spring catalogue is here", "Industry news roundup"}
	noReply = []Address{
		{"DocuSign", "dse@eumail.docusign.net"},
		{"Microsoft 365", "no-reply@microsoft.com"},
		{"Coupa", "do_not_reply@coupahost.com"},
	}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// Seed fills s with deterministic, realistic data: tenants with users and
// groups (one nested), vendors with several domains and contacts, and per
// mailbox threads of mail with vendors, colleagues and no-reply senders,
// meetings with vendor attendees and vendor contacts. The same spec always
// gives the same data, IDs included, on a fresh server.
func Seed(s *Server, spec SeedSpec) *SeedResult {
	if spec.Tenants <= 0 || spec.TenantID != "" {
		spec.Tenants = 1
	}
	if spec.End.IsZero() {
		spec.End = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	}
	if spec.Start.IsZero() || !spec.Start.Before(spec.End) {
		spec.Start = spec.End.AddDate(0, 0, -90)
	}
	res := &SeedResult{}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x5eed))
	res.Vendors = seedVendorList(rng, spec.Vendors)

	for t := 0; t < spec.Tenants; t++ {
		meta := seedTenants[t%len(seedTenants)]
		name, domain := meta.name, meta.domain
		if t >= len(seedTenants) {
			n := strconv.Itoa(t/len(seedTenants) + 1)
			name += " " + n
			domain = strings.TrimSuffix(domain, ".com") + n + ".com"
		}
		var tenant *Tenant
		if spec.TenantID != "" {
			tenant = s.existingTenant(spec.TenantID)
			if len(tenant.Domains) > 0 {
				domain = tenant.Domains[0]
			}
		} else {
			tenant = s.AddTenant(Tenant{DisplayName: name, Domains: []string{domain}})
		}
		st := SeedTenant{Tenant: *tenant}
		total := spec.Mailboxes + spec.NotMailEnabled
		for i := 0; i < total; i++ {
			first := firstNames[i%len(firstNames)]
			last := lastNames[(i+t)%len(lastNames)]
			local := strings.ToLower(first)
			if i >= len(firstNames) {
				local += strconv.Itoa(i/len(firstNames) + 1)
			}
			u := s.AddUser(tenant.ID, User{
				UPN:            local + "@" + domain,
				DisplayName:    first + " " + last,
				MailEnabled:    i < spec.Mailboxes,
				AccountEnabled: true,
			})
			st.Users = append(st.Users, *u)
		}
		st.Groups = seedGroups(s, tenant, st.Users[:spec.Mailboxes])
		for i := 0; i < spec.Mailboxes; i++ {
			mrng := rand.New(rand.NewPCG(spec.Seed^uint64(t)<<32^uint64(i), 0xb0b))
			res.Mailboxes = append(res.Mailboxes, seedMailbox(s, mrng, spec, meta.zone, st.Users, i, res.Vendors))
		}
		res.Tenants = append(res.Tenants, st)
	}
	return res
}

// existingTenant returns a copy of a tenant added earlier.
func (s *Server) existingTenant(id string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := *s.tenantLocked(id)
	t.Domains = cloneSlice(t.Domains)
	return &t
}

func seedVendorList(rng *rand.Rand, n int) []SeedVendor {
	out := make([]SeedVendor, 0, n)
	for i := 0; i < n; i++ {
		v := seedVendors[i%len(seedVendors)]
		name, domains := v.name, append([]string(nil), v.domains...)
		if i >= len(seedVendors) {
			// Another company of the same kind: number its brand label
			// everywhere, subdomains included (mail.eu.acme2.co.uk).
			k := strconv.Itoa(i/len(seedVendors) + 1)
			name += " " + k
			brand, _, _ := strings.Cut(domains[0], ".")
			for j, d := range domains {
				labels := strings.Split(d, ".")
				renamed := false
				for l := range labels {
					if labels[l] == brand {
						labels[l], renamed = brand+k, true
					}
				}
				if !renamed {
					labels[0] += k
				}
				domains[j] = strings.Join(labels, ".")
			}
		}
		sv := SeedVendor{Name: name, Domains: domains}
		people := 2 + rng.IntN(3)
		for p := 0; p < people; p++ {
			first, last := pick(rng, firstNames), pick(rng, lastNames)
			d := domains[p%len(domains)]
			local := strings.ToLower(first + "." + strings.ReplaceAll(strings.ReplaceAll(last, "'", ""), "ü", "ue"))
			sv.Contacts = append(sv.Contacts, Address{first + " " + last, local + "@" + d})
		}
		sv.Contacts = append(sv.Contacts, Address{name + " Sales", "sales@" + domains[0]})
		if i%3 == 0 {
			// Small vendors often write from free-mail accounts.
			free := []string{"gmail.com", "outlook.com"}[i/3%2]
			first := pick(rng, firstNames)
			sv.Contacts = append(sv.Contacts, Address{first + " (" + name + ")", strings.ToLower(first) + "." + strings.ToLower(strings.Fields(name)[0]) + "@" + free})
		}
		out = append(out, sv)
	}
	return out
}

func seedGroups(s *Server, tenant *Tenant, users []User) []Group {
	if len(users) == 0 {
		return nil
	}
	domain := tenant.Domains[0]
	ids := func(us []User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.ID
		}
		return out
	}
	half := (len(users) + 1) / 2
	procurement := s.AddGroup(tenant.ID, Group{DisplayName: "Procurement", Mail: "procurement@" + domain, Description: "Buyers and category managers"}, ids(users[:half])...)
	sales := s.AddGroup(tenant.ID, Group{DisplayName: "Sales", Mail: "sales@" + domain}, ids(users[half:])...)
	// Nested: the sync allow-list by group must resolve transitive members.
	syncAllowed := s.AddGroup(tenant.ID, Group{DisplayName: "M365Link Sync Allowed", Description: "Mailboxes the CRM may read"},
		procurement.ID, users[len(users)-1].ID)
	return []Group{*procurement, *sales, *syncAllowed}
}

// seedMailbox writes one mailbox's threads, events and contacts under one
// lock: seeding 100 mailboxes of 1,000 messages must take well under a
// second.
func seedMailbox(s *Server, rng *rand.Rand, spec SeedSpec, zone string, users []User, i int, vendors []SeedVendor) SeedMailbox {
	u := users[i]
	out := SeedMailbox{User: u}
	me := Address{u.DisplayName, u.Mail}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(u.ID)
	inbox, sent := mb.wellKnown["inbox"], mb.wellKnown["sentitems"]
	span := spec.End.Sub(spec.Start)

	for thread := uint64(1); len(out.Inbox)+len(out.SentItems) < spec.MessagesPerMailbox; thread++ {
		var peer Address
		var subject string
		replies := true
		switch k := rng.IntN(10); {
		case k < 7 && len(vendors) > 0:
			v := &vendors[rng.IntN(len(vendors))]
			peer = pick(rng, v.Contacts)
			subject = vendorSubject(rng, v.Name)
		case k < 9 && len(users) > 1:
			colleague := users[(i+1+rng.IntN(len(users)-1))%len(users)]
			peer = Address{colleague.DisplayName, colleague.UPN}
			subject = pick(rng, []string{"Supplier shortlist", "Budget for Q", "Re-sourcing plan", "Vendor review notes"})
		default:
			peer = pick(rng, noReply)
			subject = pick(rng, []string{"Your document has been completed", "Weekly digest", "Action required: approve invoice"})
			replies = false
		}
		conv := itemID(mb.key, kindConversation, 1<<24+thread)
		at := spec.Start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		length := 1
		if replies {
			length = 1 + rng.IntN(4)
		}
		inboundFirst := rng.IntN(3) > 0
		for n := 0; n < length && len(out.Inbox)+len(out.SentItems) < spec.MessagesPerMailbox; n++ {
			subj := subject
			if n > 0 {
				subj = "RE: " + subject
			}
			m := Message{
				Subject:        subj,
				Body:           pick(rng, bodies),
				ConversationID: conv,
				IsRead:         rng.IntN(4) > 0,
				HasAttachments: rng.IntN(6) == 0,
			}
			if rng.IntN(12) == 0 {
				m.Importance = "high"
			}
			if !at.Before(spec.End) {
				at = spec.End.Add(-time.Second)
			}
			m.ReceivedDateTime = at
			folder := inbox
			if inbound := (n%2 == 0) == inboundFirst; inbound {
				m.From, m.To = peer, []Address{me}
				if rng.IntN(5) == 0 && len(users) > 1 {
					cc := users[(i+1)%len(users)]
					m.Cc = []Address{{cc.DisplayName, cc.UPN}}
				}
			} else {
				m.From, m.To, m.IsRead, folder = me, []Address{peer}, true, sent
			}
			rec := s.addMessageLocked(mb, folder, m)
			if folder == inbox {
				out.Inbox = append(out.Inbox, rec.m.ID)
			} else {
				out.SentItems = append(out.SentItems, rec.m.ID)
			}
			at = at.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
		}
	}

	evSpan := span + 14*24*time.Hour
	for len(out.Events) < spec.EventsPerMailbox {
		start := spec.Start.Add(time.Duration(rng.Int64N(int64(evSpan)))).Truncate(time.Hour)
		e := Event{
			Organizer:       me,
			TimeZone:        zone,
			Start:           start,
			End:             start.Add(time.Duration(1+rng.IntN(2)) * 30 * time.Minute),
			IsOnlineMeeting: rng.IntN(2) == 0,
			Location:        pick(rng, []string{"", "Room 101", "Head office", "Supplier site"}),
		}
		e.Attendees = []Attendee{{Address: me, Response: "organizer"}}
		if len(vendors) > 0 {
			v := &vendors[rng.IntN(len(vendors))]
			e.Subject = pick(rng, []string{"Quarterly business review: ", "Contract negotiation with ", "Site visit: ", "Intro call with "}) + v.Name
			for k := 0; k < 1+rng.IntN(2); k++ {
				e.Attendees = append(e.Attendees, Attendee{Address: pick(rng, v.Contacts), Response: pick(rng, []string{"none", "accepted", "tentativelyAccepted", "declined"})})
			}
		} else {
			e.Subject = "Team sync"
		}
		if spec.EventsPerMailbox-len(out.Events) >= 4 && rng.IntN(8) == 0 {
			// A weekly series: the master and three occurrences.
			master := e
			master.Type = "seriesMaster"
			masterID := s.addEventLocked(mb, master).ID
			out.Events = append(out.Events, masterID)
			for w := 0; w < 3; w++ {
				occ := e
				occ.Type, occ.SeriesMasterID = "occurrence", masterID
				occ.Start, occ.End = e.Start.AddDate(0, 0, 7*w), e.End.AddDate(0, 0, 7*w)
				out.Events = append(out.Events, s.addEventLocked(mb, occ).ID)
			}
			continue
		}
		out.Events = append(out.Events, s.addEventLocked(mb, e).ID)
	}

	if spec.NewslettersPerMailbox > 0 {
		nrng := rand.New(rand.NewPCG(spec.Seed^uint64(i), 0x4e5))
		for k := 0; k < spec.NewslettersPerMailbox; k++ {
			from := pick(nrng, newsletters)
			if len(vendors) > 0 && nrng.IntN(2) == 0 {
				v := &vendors[nrng.IntN(len(vendors))]
				from = Address{v.Name, pick(nrng, []string{"news@", "newsletter@", "marketing@"}) + v.Domains[0]}
			}
			at := spec.Start.Add(time.Duration(nrng.Int64N(int64(span)))).Truncate(time.Second)
			rec := s.addMessageLocked(mb, inbox, Message{Subject: pick(nrng, newsletterSubjects), Body: bodies[0], From: from,
				To: []Address{me}, ReceivedDateTime: at, IsRead: nrng.IntN(3) == 0,
				ConversationID: itemID(mb.key, kindConversation, 1<<25+uint64(k))})
			out.Inbox = append(out.Inbox, rec.m.ID)
		}
	}

	n := 0
	for _, v := range vendors {
		for _, c := range v.Contacts {
			if n >= spec.ContactsPerMailbox {
				break
			}
			given, sur, _ := strings.Cut(c.Name, " ")
			rec := mb.contacts.add(s.now, Contact{DisplayName: c.Name, GivenName: given, Surname: sur, CompanyName: v.Name,
				EmailAddresses: []Address{c}, BusinessPhones: []string{"+1 555 01" + strconv.Itoa(10+n%90)}, CreatedDateTime: spec.Start}, nil)
			out.Contacts = append(out.Contacts, rec.ID)
			n++
		}
	}
	return out
}

func vendorSubject(rng *rand.Rand, vendor string) string {
	switch rng.IntN(8) {
	case 0:
		return "Quote request: " + pick(rng, products)
	case 1:
		return "Invoice INV-" + strconv.Itoa(10000+rng.IntN(90000)) + " from " + vendor
	case 2:
		return "PO " + strconv.Itoa(4500000+rng.IntN(100000)) + " confirmation"
	case 3:
		return "Delivery schedule for week " + strconv.Itoa(1+rng.IntN(52))
	case 4:
		return "Contract renewal " + strconv.Itoa(2026+rng.IntN(2))
	case 5:
		return "Price update Q" + strconv.Itoa(1+rng.IntN(4)) + ": " + pick(rng, products)
	case 6:
		return "Shipping notice – " + pick(rng, products)
	default:
		return "RFP: " + pick(rng, products) + " for " + vendor
	}
}
