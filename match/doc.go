// Package match puts every mail and meeting under the right vendor, and
// says why.
//
// A [Matcher] looks each participant (from, sender, to, cc, bcc, reply-to;
// organizer, attendees) up in a vendors.Directory with rules in this order:
//
//  1. host overrides: an address or domain pinned to a vendor, or ignored;
//  2. the tenant's own domains (and subdomains) never match: internal mail
//     is not vendor mail;
//  3. the exact address as a known contact (case, display names and
//     plus-addressing normalised; IDN domains in their ASCII form);
//  4. free-mail and consumer domains (an embedded list of about 14,000,
//     adjustable) never match by domain;
//  5. the address's domain, then its parents up to the registrable domain
//     from the public suffix list (mail.eu.acme.co.uk → acme.co.uk).
//
// Two vendors claiming what matched is an ambiguity that names both, never
// a silent pick; with TrackedOnly, vendors the admin does not track are
// dropped. Role addresses (noreply@, mailer-daemon@, bounce…@) are flagged
// and count for half. Every [Result] carries its matches and its drops, and
// [Result.Explain] renders them for a UI.
//
// [Sink] decorates a sync sink so that a host composes engine → matcher →
// its own store; [Matcher.Rematch] re-runs the rules over stored items when
// a vendor's domains or contacts change.
package match
