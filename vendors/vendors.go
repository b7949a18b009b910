package vendors

import (
	"context"
	"errors"
)

// Vendor is a company the host tracks: its domains (subsidiaries, country
// domains) and known contact addresses (some of them on free-mail domains).
type Vendor struct {
	// ID is the host's key for the vendor, 1 to 255 bytes.
	ID string
	// Name is shown to people; the index never interprets it.
	Name string
	// Domains are the vendor's own domains, e.g. "acme.com", "acme.co.uk".
	// Mail from a subdomain (mail.eu.acme.co.uk) belongs to the vendor too;
	// see the match package.
	Domains []string
	// Contacts are known addresses of the vendor's people, on its domains or
	// anywhere else ("acme.owner@gmail.com").
	Contacts []string
	// Tracked says the admin wants this vendor's activity surfaced.
	Tracked bool
}

// KeyKind says what a [Key] names.
type KeyKind uint8

// Key kinds.
const (
	// KeyContact is a normalised e-mail address: vendors that list it as a contact.
	KeyContact KeyKind = iota + 1
	// KeyDomain is a normalised domain: vendors that claim it.
	KeyDomain
	// KeyID is a vendor ID: the vendor itself, when it exists. The matcher
	// asks for it to learn whether a vendor an override pins is tracked.
	KeyID
)

// String returns "contact", "domain" or "id".
func (k KeyKind) String() string {
	switch k {
	case KeyContact:
		return "contact"
	case KeyDomain:
		return "domain"
	case KeyID:
		return "id"
	}
	return "invalid"
}

// Key is one question to a [Directory]. Value is in the form
// [NormalizeAddress] and [NormalizeDomain] return.
type Key struct {
	// Kind says what Value is: a contact address, a domain or a vendor ID.
	Kind KeyKind
	// Value is the normalised address or domain, or the ID.
	Value string
}

// Hit says that a vendor claims one of the keys of a [Directory.Lookup].
type Hit struct {
	// Key is the index of the key in the lookup's keys.
	Key int
	// VendorID is the vendor that claims it.
	VendorID string
	// Name is the vendor's [Vendor.Name], for explanations a person reads.
	// A directory that has no names leaves it empty; the matcher then
	// shows the ID.
	Name string
	// Tracked is the vendor's [Vendor.Tracked].
	Tracked bool
}

// Directory answers which vendors claim an address, a domain or an ID. The
// host implements it over its own database, or uses an [Index].
//
// Lookup takes a batch because the matcher asks about every participant of
// a message at once (addresses, their domains and parent domains): a
// database answers a batch in one query per kind, for example
//
//	SELECT c.address, v.id, v.name, v.tracked FROM vendor_contacts c JOIN vendors v ON v.id = c.vendor_id
//	WHERE c.address = ANY($1)
//
// Lookup appends to dst one Hit for every (key, vendor) pair that exists,
// in any order, with the vendor's ID, name and tracked flag, and returns
// the extended slice; a key nobody claims adds nothing. It must honour ctx, must be safe for concurrent use, and must not
// keep keys or dst after it returns. Values are compared as given: callers
// normalise them, and an implementation stores its contacts and domains
// normalised (lower-case, IDNA ASCII, no plus-tag).
type Directory interface {
	Lookup(ctx context.Context, dst []Hit, keys []Key) ([]Hit, error)
}

// Versioned is an optional interface of a [Directory] whose answers change
// only together with its version. Version returns a number that grows with
// every change (and never returns to an earlier value). The matcher then
// caches what domains resolve to for as long as the version stays.
type Versioned interface {
	Version() uint64
}

// ErrInvalid reports a vendor the index cannot hold: no ID, an ID over 255
// bytes, a domain or contact that is not one, or more domains and contacts
// than fit in [MaxVendorBytes].
var ErrInvalid = errors.New("vendors: invalid vendor")

// ErrFull reports that the index reached its 4 GiB of vendor data.
var ErrFull = errors.New("vendors: index full")

// A Prefetcher is a [Directory] that can begin to load what a later
// [Directory.Lookup] of a key will read, so that the loads overlap the
// caller's work in between. [Index] is one; a Directory that is not needs
// nothing of the kind.
type Prefetcher interface {
	// Prefetch begins to load what looking key up will read. It neither
	// blocks nor fails, and may do nothing.
	Prefetch(key Key)
}
