// Package matchsync joins the sync engine and the matcher: [Sink]
// decorates a host's sink so that every synced message reaches the host's
// store together with its vendors (engine → matcher → host).
//
// It is a package of its own so that neither side knows the other: the
// sync package knows nothing of vendors, and the match package nothing of
// Graph, so a host that only matches addresses compiles no Graph client.
// Import the sync package under a name of its own (m365sync) to keep the
// standard library's sync at hand.
package matchsync
