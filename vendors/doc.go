// Package vendors is the vendor model the matcher works on, and the
// Directory interface through which a host lets the matcher look vendors
// up in its own database.
//
// [Index] is an in-memory Directory built for scale: a million vendors
// with three domains and five contacts each take about 275 bytes per vendor
// and answer a lookup in about a third of a microsecond, and vendors can be
// added, changed and removed while readers keep reading. Keys are
// normalised with [NormalizeAddress] and [NormalizeDomain] (case, display
// names, plus-addressing, IDNA).
//
// The package is named vendors, not vendor: a root "vendor" directory is
// Go's vendoring folder.
package vendors
