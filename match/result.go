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
	// RuleOverride: the host pinned the address, or its domain, to the vendor.
	RuleOverride Rule = "override"
	// RuleContact: the address is one of the vendor's known contacts
	// (plus-addressing and case aside).
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
	Role  Role
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

// String formats the participant as "role Name <address>".
func (p Participant) String() string {
	addr := p.Normalized
	if addr == "" {
		addr = p.Address
	}
	if p.Name != "" && !strings.EqualFold(p.Name, p.Address) {
		addr = p.Name + " <" + addr + ">"
	}
	return string(p.Role) + " " + addr
}

// Match puts a participant under a vendor.
type Match struct {
	VendorID string
	Rule     Rule
	// Key is what matched: the contact address, the vendor's domain, or the
	// override's address or domain.
	Key string
	// Confidence is from [ConfidenceOverride] down to
	// [ConfidenceParentDomain], halved for a role address.
	Confidence  float64
	Participant Participant
}

// Reason says why a participant was left without a vendor.
type Reason string

// Reasons.
const (
	// ReasonInternal: the tenant's own domain (or an Exchange-internal
	// address): mail between colleagues is not vendor mail.
	ReasonInternal Reason = "internal"
	// ReasonFreemail: a free-mail or consumer domain, and the address is
	// not a known contact.
	ReasonFreemail Reason = "free-mail"
	// ReasonIgnored: an override says to ignore the address or its domain.
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
	// ReasonInvalid: not an e-mail address.
	ReasonInvalid Reason = "invalid"
)

// Dropped is a participant left without a vendor, and why.
type Dropped struct {
	Participant Participant
	Reason      Reason
	// Rule and Key say what found the candidates of an untracked,
	// ambiguous, role-address or unknown-vendor drop. Key is also the
	// internal, free-mail or ignored domain (or address) of those drops.
	Rule Rule
	Key  string
	// Candidates are the vendors that claimed the participant, sorted.
	Candidates []string
}

// Result is what the matcher found for an address, a message or an event:
// one Match or one Dropped per distinct participant (an address that
// appears twice counts once, in its first role), each in participant order.
type Result struct {
	Matches []Match
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
			e.Lines = append(e.Lines, Line{Participant: r.Matches[i].Participant, Match: &r.Matches[i]})
			i++
		} else {
			e.Lines = append(e.Lines, Line{Participant: r.Dropped[j].Participant, Dropped: &r.Dropped[j]})
			j++
		}
	}
	return e
}

// Explanation is a [Result] told participant by participant, in the order
// they appear on the message or event.
type Explanation struct {
	Lines []Line
}

// String renders one line per participant.
func (e Explanation) String() string {
	var b strings.Builder
	for _, l := range e.Lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Line is one participant's outcome: exactly one of Match and Dropped is set.
type Line struct {
	Participant Participant
	Match       *Match
	Dropped     *Dropped
}

// String says which rule matched which vendor, or why there is none, e.g.
//
//	from Hank <hank@globex.com>: vendor globex, known contact hank@globex.com (confidence 0.99)
//	cc pat@umbrella-group.com: no vendor: umbrella-group.com is claimed by several vendors (umbrella, umbrella-uk)
func (l Line) String() string {
	var b strings.Builder
	b.WriteString(l.Participant.String())
	b.WriteString(": ")
	if m := l.Match; m != nil {
		b.WriteString("vendor ")
		b.WriteString(m.VendorID)
		b.WriteString(", ")
		b.WriteString(ruleText(m.Rule, m.Key))
		b.WriteString(" (confidence ")
		b.WriteString(strconv.FormatFloat(m.Confidence, 'f', 2, 64))
		b.WriteByte(')')
		if m.Participant.RoleAddress {
			b.WriteString(", a role address")
		}
		return b.String()
	}
	d := l.Dropped
	if d == nil {
		return b.String()
	}
	b.WriteString("no vendor: ")
	list := strings.Join(d.Candidates, ", ")
	switch d.Reason {
	case ReasonInternal:
		if d.Key == "" {
			b.WriteString("an Exchange-internal address")
		} else {
			b.WriteString("internal domain " + d.Key)
		}
	case ReasonFreemail:
		b.WriteString("free-mail domain " + d.Key + ", not a known contact")
	case ReasonIgnored:
		b.WriteString("ignored by an override of " + d.Key)
	case ReasonUntracked:
		b.WriteString(ruleText(d.Rule, d.Key) + " of " + list + ", not tracked")
	case ReasonAmbiguous:
		b.WriteString(ruleText(d.Rule, d.Key) + " claimed by several vendors (" + list + ")")
	case ReasonRoleAddress:
		b.WriteString("a role address, " + ruleText(d.Rule, d.Key) + " of " + list)
	case ReasonUnknownVendor:
		b.WriteString("pinned by an override of " + d.Key + " to " + list + ", which the directory does not have")
	case ReasonNoVendor:
		b.WriteString("no vendor claims the address or its domain")
	case ReasonInvalid:
		b.WriteString("not an e-mail address")
	default:
		b.WriteString(string(d.Reason))
	}
	return b.String()
}

func ruleText(r Rule, key string) string {
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
