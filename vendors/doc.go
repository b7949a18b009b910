// Package vendors is the vendor model the match package works on, and the
// Directory through which a host lets the matcher look vendors up.
//
// A [Vendor] has an ID, a name, domains (subsidiaries, country domains),
// known contact addresses (some on free-mail domains) and a tracked flag.
// A [Directory] answers, in one batch, which vendors claim a set of
// contact addresses, domains and vendor IDs ([Key]), with each vendor's
// name and tracked flag; the host implements it over its own database, or
// uses an [Index]. Keys are compared in the form [NormalizeAddress] and
// [NormalizeDomain] give, the one form for contacts, the matcher's pins
// and its lookups: addresses read as RFC 5322 writes them (display names,
// comments, quoted local parts such as `"john smith"@acme.com`,
// escapes), lower-case, plus-tags and "mailto:" removed, IDN domains as
// IDNA ASCII ("bücher.example" is "xn--bcher-kva.example"). Domains that
// no mailbox can be at, IP addresses and public suffixes alone (co.uk),
// are not domains. [ParseAddress] gives the parts of an address, its
// registrable domain among them.
//
// [Index] is an in-memory Directory for millions of vendors: about 290
// bytes per vendor with three domains and five contacts, lookups that take
// no lock, and [Index.Put] and [Index.Remove] to change vendors one at a
// time while readers keep reading. It implements [Versioned], so the
// matcher can cache answers between changes, and [Prefetcher], so that a
// single match's loads from memory overlap its parsing.
//
// The package is named vendors, not vendor: a root "vendor" directory is
// Go's vendoring folder.
package vendors
