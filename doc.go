// Package m365link connects an application's records (vendors, suppliers,
// companies) to its users' Microsoft 365 mail and calendar.
//
// The host application keeps its own database and UI; m365link does the
// Microsoft side: consent, tokens, incremental sync, matching mail and
// meetings to vendors, creating meetings and sending mail.
//
// # Packages
//
//   - m365link (this package): the shared vocabulary. Which Microsoft cloud
//     ([Cloud]: [Global], [USGovL4], [USGovL5], [China]); who an account or
//     mailbox is ([Account], [Mailbox]); what the sync engine hands a host
//     ([Message], [Event], [Contact], [EmailAddress]); the errors every
//     package returns ([GraphError], [ReconnectError], and sentinels such as
//     [ErrThrottled], [ErrConsentRequired] and [ErrSyncReset] for
//     errors.Is, the one way to classify them). It imports no subpackage.
//   - graphclient: the one Graph client a process shares between packages
//     (cloud, transport, retries, per-mailbox limiter), so throttling met by
//     one package slows that mailbox in all of them.
//   - consent: admin consent, one-click user connect (authorization code +
//     PKCE), app-only service connections and their connection test, the
//     permission catalogue.
//   - tokens: the Store the host implements, encryption at rest, a token
//     source per account that refreshes once under concurrency, and
//     disconnecting an account.
//   - sync: the delta sync engine feeding host sinks, for thousands of
//     mailboxes, within Graph's throttling limits, across crashes.
//   - sqlstore: the stores of tokens, sync and consent in the host's SQLite
//     or PostgreSQL database, with one serialised Migrate.
//   - vendors and match: put every mail and meeting under the right vendor,
//     with an explanation; they compile without the sync engine or any
//     Graph code. match/matchsync joins the matcher to the sync engine.
//   - m365linktest: a fake tenant (Graph and the identity platform) for a
//     host's own tests: seeding, faults, accounting and a browser stand-in
//     for consent; examples/hosttest is a host's test built on it.
//   - internal/graph: the one HTTP layer (auth, immutable IDs, per-mailbox
//     pacing, retries, typed errors, paging with an origin check).
//   - internal/fakegraph: an in-process fake of Graph and of the identity
//     platform that every test and the offline quickstart
//     (go run ./examples/quickstart) run on.
//
// Planned, not yet here: calendar and mailsend (meetings and mail to
// vendors), graphsdk (msgraph-sdk-go on the shared client) and
// cmd/m365link (the operator's command).
//
// # How the pieces fit
//
// A host wires them once at start-up (the sync package is imported as
// m365sync: its name shadows the standard library's). One [Cloud] value
// goes to the token manager and the Graph client; consent takes it from
// the token manager:
//
//	cloud := m365link.Global                                  // or USGovL4, USGovL5, China
//	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync)
//	ring, _ := tokens.NewKeyRing(1, keyFromKMS)
//	store, _ := sqlstore.New(db, sqlstore.Postgres, nil)      // tokens, sync state, leases, consent states
//	mgr, _ := tokens.NewManager(tokens.Config{ClientID: id, Credential: secret, Cloud: cloud,
//		Store: tokens.NewEncrypted(store.Tokens(), ring), Scopes: plan.GraphScopes(cloud, true)})
//	gc, _ := graphclient.New(graphclient.Config{Cloud: cloud, Logger: logger}) // one per process
//	conn, _ := consent.New(consent.Config{ClientID: id, RedirectURI: callback,
//		Scopes: plan.Scopes(cloud, true), Tokens: mgr, Graph: gc, States: store.ConsentStates()})
//	http.Handle("/m365/", conn.Handler("/m365", hooks))      // admin consent + one-click connect
//
//	index, _ := vendors.NewIndex(hostVendors)                 // or the host's own vendors.Directory
//	matcher, _ := match.New(match.Config{Directory: index, InternalDomains: tenantDomains, TrackedOnly: true})
//	engine, _ := m365sync.New(m365sync.Config{Client: gc,
//		TenantID: tenant, Policy: m365sync.Policy{Groups: []string{buyersGroup}},
//		Tokens:   func(mb m365link.Mailbox) m365sync.TokenSource { return mgr.Source(mb.Account()) },
//		Sink:     matchsync.Sink(matcher, hostSink),          // vendors attached, then the host's store
//		State:    store.SyncState(), Leases: store.Leases(), Window: m365sync.Window{Days: 90},
//	})
//	go engine.Run(ctx)
//
// Failures surface as typed states: engine.Status(mb.Key()) says
// "reconnect required", "throttled", "not mail-enabled" or "degraded", and
// errors match the sentinels below with errors.Is.
package m365link
