// Package match puts every mail and meeting under the right vendor, and
// says why.
//
// A [Matcher] looks at each participant of a message (from, sender, to, cc,
// bcc, reply-to) or an event (organizer, attendees) and applies these rules
// in order; the first that decides wins:
//
//  0. The address is read as RFC 5322 writes it and normalised once, by
//     [vendors.NormalizeAddress], which makes the keys of contacts, pins
//     and lookups alike: display names, comments and every "mailto:"
//     prefix removed, quoted local parts (`"john smith"@acme.com`)
//     unquoted where they can be, case and plus-tags dropped, IDN domains
//     in their ASCII form. Something that is not an address (empty,
//     malformed, at an IP address, at a public suffix alone such as co.uk)
//     is dropped as [ReasonInvalid]; an Exchange-internal one
//     ("/O=EXCHANGELABS/…") as [ReasonInternal].
//  1. Host pins ([Pin], [Overrides]): an address, a domain, or a domain
//     and its subdomains that belongs to a vendor, or is ignored. The most
//     specific pin decides ([RuleOverride]).
//  2. The exact address as a vendor's known contact ([RuleContact]). This
//     comes before the internal-domain rule, so a vendor's consultant with
//     a guest mailbox on the tenant's own domain still matches, and it is
//     the only way an address on a free-mail domain matches.
//  3. The tenant's own domains ([Config.InternalDomains]) and their
//     subdomains never match otherwise: mail between colleagues is not
//     vendor mail, even when a vendor (wrongly) claims the domain.
//  4. Domains on the free-mail list never match by domain. The list is
//     embedded in three categories with their sources, [CategoryFreemail]
//     (gmail.com), [CategoryISP] (telstra.com, sky.com) and
//     [CategoryDisposable] (mailinator.com); hosts add and remove entries
//     and categories ([ListChanges]), and the drop names the category.
//  5. The address's domain ([RuleDomain]), then its parents up to the
//     registrable domain from the public suffix list ([RuleParentDomain]):
//     mail.eu.acme.co.uk tries eu.acme.co.uk and acme.co.uk, never co.uk.
//
// A rule that finds several vendors yields an ambiguous drop naming them
// all, never a silent pick. With [Config.TrackedOnly] only vendors the admin
// tracks surface. Role addresses (noreply@, mailer-daemon@, bounce…@: a
// list in categories that hosts adjust like the free-mail list) are
// flagged and count for half, or are dropped ([Config.DropRoleAddresses]).
//
// Each [Match] carries the vendor's ID and name, its rule, key,
// participant and role, the pin that decided and a confidence; each
// [Dropped] its reason, the list category or pin behind it, and the
// candidates with their names. [Result.Explain] tells them participant by
// participant as structured [Line] values, each with a plain-English
// String for a UI.
//
// The matcher asks its [vendors.Directory] once per message, with every
// key the rules need, and the directory answers with the vendors' names,
// so a host's database directory answers in one round trip;
// [Matcher.MatchMessages] and [Matcher.MatchAddresses] ask once for a
// whole batch (a page of synced mail), so that the lookups overlap. With a
// [vendors.Versioned] directory (an Index) it caches the outcomes of
// 65,536 addresses; the cache gives way gradually when the addresses
// outnumber it.
//
// # Keeping stored items right
//
// When vendors or overrides change, [VendorChange] and
// [Matcher.SetOverrides] say which addresses, domains and local parts are
// affected, and [Matcher.Rematch] matches those stored items again through
// the host's [Store]. The sink decorator that matches synced mail on its
// way into a host's store is in package match/matchsync, so this package
// compiles without the sync engine or any Graph code.
//
// # Embedded lists
//
// lists/free-mail.txt, lists/isp.txt and lists/disposable.txt split the
// domains of the npm package free-email-domains 1.12.6 (MIT, built from
// HubSpot's list of free e-mail domains) into the three categories: the
// disposable ones are those the npm package disposable-email-domains
// 1.0.62 (MIT) names, the ISPs' were picked by hand. Each file's header
// names its sources; README.md in this directory says how to update them.
package match
