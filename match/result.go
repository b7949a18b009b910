package match

import (
	"slices"
	"strconv"
	"strings"
)

// Rule says how a participant was matched to a vendor. Rules apply in the
// order of the constants.
type Rule string

// Rules.
const (
	// RuleOverride: a host's [Pin] put the address, or its domain, under
	// the vendor.
	RuleOverride Rule = "override"
	// RuleContact: the address is one of the vendor's known contacts
	// (plus-addressing and case aside), even on the tenant's own domain.
	RuleContact Rule = "contact"
	// RuleDomain: the address's domain is one of the vendor's domains.
	RuleDomain Rule = "domain"
	// RuleParentDomain: a parent of the address's domain, up to the
	// registrable domain (acme.co.uk for mail.eu.acme.co.uk), is one of the
	// vendor's domains.
	RuleParentDomain Rule = "parent domain"
)

// Confidence of a match by rule; a role address (see [IsRoleAddress]) gets
// half.
const (
	ConfidenceOverride     = 1.0
	ConfidenceContact      = 0.99
	ConfidenceDomain       = 0.9
	ConfidenceParentDomain = 0.8
)

func confidence(r Rule) float64 {
	switch r {
	case RuleOverride:
		return ConfidenceOverride
	case RuleContact:
		return ConfidenceContact
	case RuleDomain:
		return ConfidenceDomain
	}
	return ConfidenceParentDomain
}

// Role says where a participant appeared on a message or event.
type Role string

// Roles.
const (
	RoleFrom      Role = "from"
	RoleSender    Role = "sender"
	RoleTo        Role = "to"
	RoleCc        Role = "cc"
	RoleBcc       Role = "bcc"
	RoleReplyTo   Role = "reply-to"
	RoleOrganizer Role = "organizer"
	RoleAttendee  Role = "attendee"
	// RoleAddress is the role of the address given to [Matcher.MatchAddress].
	RoleAddress Role = "address"
)

// Participant is one address on a message or event.
type Participant struct {
	// Index is the participant's position in [m365link.Message.Participants]
	// or [m365link.Event.Participants]; 0 for [Matcher.MatchAddress].
	Index int
	// Role is where the participant appeared.
	Role Role
	// Name is the display name, when the item carried one.
	Name string
	// Address is as it appeared; Normalized is the form looked up
	// ("" when the address is not one).
	Address    string
	Normalized string
	// RoleAddress marks addresses of systems rather than people: noreply@,
	// mailer-daemon@, bounce…@ (see [IsRoleAddress]).
	RoleAddress bool
}

// String formats the participant as "role Name <address>" ("role
// (empty)" for no address).
func (p Participant) String() string {
	addr := p.Normalized
	if addr == "" {
		addr = p.Address
	}
	if strings.TrimSpace(addr) == "" {
		addr = "(empty)"
	}
	if p.Name != "" && !strings.EqualFold(p.Name, p.Address) {
		addr = p.Name + " <" + addr + ">"
	}
	return string(p.Role) + " " + addr
}

// Match puts a participant under a vendor.
type Match struct {
	// VendorID is the vendor the participant belongs to.
	VendorID string
	// VendorName is the vendor's name, as the directory gave it with the
	// vendor's keys ("" when it has none).
	VendorName string
	// Rule is the rule that matched.
	Rule Rule
	// Key is what matched: the contact address, the vendor's domain, or the
	// pin's address or domain.
	Key string
	// Confidence is from [ConfidenceOverride] down to
	// [ConfidenceParentDomain], halved for a role address.
	Confidence float64
	// Participant is who matched.
	Participant Participant
	// Pin is the pin that decided, with [RuleOverride].
	Pin Pin
}

// Reason says why a participant was left without a vendor.
type Reason string

// Reasons.
const (
	// ReasonInternal: the tenant's own domain (or an Exchange-internal
	// address): mail between colleagues is not vendor mail.
	ReasonInternal Reason = "internal"
	// ReasonFreemail: a domain on the free-mail list (of free-mail
	// providers, ISPs or disposable inboxes: [Dropped.Category] says
	// which), and the address is not a known contact.
	ReasonFreemail Reason = "free-mail"
	// ReasonIgnored: a pin with no vendor covers the address or its domain.
	ReasonIgnored Reason = "ignored"
	// ReasonUntracked: the vendors that claim it are not tracked (with
	// [Config.TrackedOnly]).
	ReasonUntracked Reason = "untracked"
	// ReasonAmbiguous: several vendors claim it; none is picked.
	ReasonAmbiguous Reason = "ambiguous"
	// ReasonRoleAddress: a role address that matched only by domain (with
	// [Config.DropRoleAddresses]).
	ReasonRoleAddress Reason = "role address"
	// ReasonNoVendor: no vendor claims the address or its domain.
	ReasonNoVendor Reason = "no vendor"
	// ReasonUnknownVendor: an override pins it to a vendor the directory
	// does not have.
	ReasonUnknownVendor Reason = "unknown vendor"
	// ReasonInvalid: not an e-mail address (see
	// [vendors.NormalizeAddress]): empty, malformed, at an IP address, or
	// at a public suffix alone (ann@co.uk).
	ReasonInvalid Reason = "invalid"
)

// Dropped is a participant left without a vendor, and why.
type Dropped struct {
	// Participant is who was dropped, and Reason why.
	Participant Participant
	Reason      Reason
	// Rule and Key say what found the candidates of an untracked,
	// ambiguous, role-address or unknown-vendor drop. Key is also the
	// internal, free-mail or ignored domain (or address) of those drops.
	Rule Rule
	Key  string
	// Category is the free-mail list's category of a free-mail drop, or
	// the role list's category of a role-address drop.
	Category string
	// Pin is the pin that decided an ignored, unknown-vendor or untracked
	// drop.
	Pin Pin
	// Candidates are the vendors that claimed the participant, sorted by
	// ID; CandidateNames are their names, in the same order.
	Candidates     []string
	CandidateNames []string
}

// Result is what the matcher found for an address, a message or an event:
// one Match or one Dropped per distinct participant (an address that
// appears twice counts once, in its first role), each in participant order.
type Result struct {
	// Matches are the participants that matched a vendor.
	Matches []Match
	// Dropped are the participants that did not, with the reason.
	Dropped []Dropped
}

// Vendors returns the distinct vendor IDs matched, in order of first appearance.
func (r Result) Vendors() []string {
	var out []string
	for _, m := range r.Matches {
		if !slices.Contains(out, m.VendorID) {
			out = append(out, m.VendorID)
		}
	}
	return out
}

// Explain tells the result participant by participant, for a UI.
func (r Result) Explain() Explanation {
	e := Explanation{Lines: make([]Line, 0, len(r.Matches)+len(r.Dropped))}
	i, j := 0, 0
	for i < len(r.Matches) || j < len(r.Dropped) {
		if j == len(r.Dropped) || i < len(r.Matches) && r.Matches[i].Participant.Index <= r.Dropped[j].Participant.Index {
			m := &r.Matches[i]
			e.Lines = append(e.Lines, Line{Participant: m.Participant, VendorID: m.VendorID, VendorName: m.VendorName,
				Rule: m.Rule, Key: m.Key, Confidence: m.Confidence, Pin: m.Pin, Match: m})
			i++
		} else {
			d := &r.Dropped[j]
			l := Line{Participant: d.Participant, Reason: d.Reason, Rule: d.Rule, Key: d.Key, Category: d.Category, Pin: d.Pin, Dropped: d}
			for k, id := range d.Candidates {
				c := Candidate{ID: id}
				if k < len(d.CandidateNames) {
					c.Name = d.CandidateNames[k]
				}
				l.Candidates = append(l.Candidates, c)
			}
			e.Lines = append(e.Lines, l)
			j++
		}
	}
	return e
}

// Explanation is a [Result] told participant by participant, in the order
// they appear on the message or event.
type Explanation struct {
	// Lines are one per participant.
	Lines []Line
}

// String renders one line per participant (see [Line.String]).
func (e Explanation) String() string {
	var b strings.Builder
	for _, l := range e.Lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Line is one participant's outcome, as a UI shows it: the participant
// (with its role), the vendor it went to or the reason it did not, the
// rule and key that decided, and the pin or list entry behind it. Exactly
// one of Match and Dropped is set; the other fields repeat what it says.
type Line struct {
	// Participant is whom the line is about, with its role.
	Participant Participant
	// VendorID and VendorName are the vendor matched ("" for a drop).
	VendorID, VendorName string
	// Reason is why the participant was dropped ("" for a match).
	Reason Reason
	// Rule and Key are what decided, as in [Match] and [Dropped].
	Rule Rule
	Key  string
	// Confidence is the match's.
	Confidence float64
	// Pin is the host's pin that decided, if one did.
	Pin Pin
	// Category is the free-mail or role list's category that decided a
	// free-mail or role-address drop.
	Category string
	// Candidates are the vendors of an ambiguous, untracked, role-address
	// or unknown-vendor drop.
	Candidates []Candidate
	// Match or Dropped is the result's entry the line tells.
	Match   *Match
	Dropped *Dropped
}

// Candidate is a vendor that claimed a dropped participant.
type Candidate struct {
	// ID and Name are the vendor's.
	ID, Name string
}

// String returns "Name (id)", or the ID when there is no name.
func (c Candidate) String() string { return vendorText(c.ID, c.Name) }

func vendorText(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return name + " (" + id + ")"
}

// String says in plain English which rule matched which vendor, or why
// there is none, e.g.
//
//	from Hank <hank@globex.com>: vendor Globex (globex), known contact hank@globex.com (confidence 0.99)
//	cc pat@umbrella-group.com: no vendor: domain umbrella-group.com is claimed by several vendors: Umbrella Supplies (umbrella), Umbrella UK (umbrella-uk)
//	cc sam@sky.com: no vendor: sky.com is on the free-mail list (category isp), and the address is not a known contact
func (l Line) String() string {
	var b strings.Builder
	b.WriteString(l.Participant.String())
	b.WriteString(": ")
	if l.Reason == "" {
		b.WriteString("vendor ")
		b.WriteString(vendorText(l.VendorID, l.VendorName))
		b.WriteString(", ")
		b.WriteString(l.ruleText())
		b.WriteString(" (confidence ")
		b.WriteString(strconv.FormatFloat(l.Confidence, 'f', 2, 64))
		b.WriteByte(')')
		if l.Participant.RoleAddress {
			b.WriteString(", a role address")
		}
		return b.String()
	}
	b.WriteString("no vendor: ")
	list := make([]string, len(l.Candidates))
	for i, c := range l.Candidates {
		list[i] = c.String()
	}
	of := strings.Join(list, ", ")
	switch l.Reason {
	case ReasonInternal:
		if l.Key == "" {
			b.WriteString("an Exchange-internal address")
		} else {
			b.WriteString("internal domain " + l.Key)
		}
	case ReasonFreemail:
		b.WriteString(l.Key + " is on the free-mail list (category " + l.Category + "), and the address is not a known contact")
	case ReasonIgnored:
		b.WriteString("the host ignores " + l.Pin.what())
	case ReasonUntracked:
		b.WriteString(l.ruleText() + " of " + of + ", not tracked")
	case ReasonAmbiguous:
		b.WriteString(l.ruleText() + " is claimed by several vendors: " + of)
	case ReasonRoleAddress:
		b.WriteString("a role address (category " + l.Category + "), " + l.ruleText() + " of " + of)
	case ReasonUnknownVendor:
		b.WriteString("the host pinned " + l.Pin.what() + " to " + l.Pin.VendorID + ", which the directory does not have")
	case ReasonNoVendor:
		b.WriteString("no vendor claims the address or its domain")
	case ReasonInvalid:
		b.WriteString("not an e-mail address")
	default:
		b.WriteString(string(l.Reason))
	}
	return b.String()
}

func (l Line) ruleText() string {
	if l.Rule == RuleOverride && l.Pin.Kind != 0 {
		return l.Pin.Text()
	}
	return l.Rule.Text(l.Key)
}

// Text says in plain English what the rule found, with its key: "known
// contact ann@acme.com", "domain acme.com", "parent domain acme.co.uk",
// "override of acme.com".
func (r Rule) Text(key string) string {
	switch r {
	case RuleOverride:
		return "override of " + key
	case RuleContact:
		return "known contact " + key
	case RuleDomain:
		return "domain " + key
	case RuleParentDomain:
		return "parent domain " + key
	}
	return string(r) + " " + key
}
