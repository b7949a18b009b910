// Package m365link connects an application's records (vendors, suppliers,
// companies) to its users' Microsoft 365 mail and calendar.
//
// The host application keeps its own database and UI; m365link does the
// Microsoft side: consent, tokens, incremental sync, matching mail and
// meetings to vendors, creating meetings and sending mail.
//
// # Packages
//
//   - m365link (this package): the shared vocabulary. Who an account or
//     mailbox is ([Account], [Mailbox]); what the sync engine hands a host
//     ([Message], [Event], [Contact], [EmailAddress]); the errors every
//     package returns ([GraphError], [ReconnectError], and sentinels such as
//     [ErrThrottled] and [ErrSyncReset] for errors.Is). It imports no
//     subpackage.
//   - consent: admin consent, one-click user connect (authorization code +
//     PKCE), app-only service connections, the permission catalogue.
//   - tokens: the Store the host implements, encryption at rest, a token
//     source per account that refreshes once under concurrency.
//   - sync: the delta sync engine feeding host sinks, for thousands of
//     mailboxes, within Graph's throttling limits, across crashes.
//   - vendors and match: put every mail and meeting under the right vendor,
//     with an explanation; they compile without the sync engine or any
//     Graph code. match/matchsync joins the matcher to the sync engine.
//   - calendar and mailsend: meetings and mail to vendors.
//   - internal/graph: the one HTTP layer (auth, immutable IDs, per-mailbox
//     pacing, retries, typed errors, paging with an origin check).
//   - internal/fakegraph: an in-process fake of Graph that every test and
//     the offline quickstart (go run ./examples/quickstart) run on.
//
// # How the pieces fit
//
// A host wires them once at start-up (the sync package is imported as
// m365sync: its name shadows the standard library's):
//
//	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync)
//	ring, _ := tokens.NewKeyRing(1, keyFromKMS)
//	raw, _ := sqlstore.New(db, sqlstore.Postgres, nil)        // tokens in the host's database
//	mgr, _ := tokens.NewManager(tokens.Config{ClientID: id, Credential: secret,
//		Store: tokens.NewEncrypted(raw, ring), Scopes: plan.GraphScopes(consent.Global.GraphResource, true)})
//	conn, _ := consent.New(consent.Config{ClientID: id, RedirectURI: callback,
//		Scopes: plan.Scopes(consent.Global.GraphResource, true), Tokens: mgr})
//	http.Handle("/m365/", conn.Handler("/m365", hooks))      // admin consent + one-click connect
//
//	index, _ := vendors.NewIndex(hostVendors)                 // or the host's own vendors.Directory
//	matcher, _ := match.New(match.Config{Directory: index, InternalDomains: tenantDomains, TrackedOnly: true})
//	state, _ := syncsql.New(db, syncsql.Postgres, "")         // cursors, statuses, leases
//	engine, _ := m365sync.New(m365sync.Config{
//		TenantID: tenant, Policy: m365sync.Policy{Groups: []string{buyersGroup}},
//		Tokens:   func(mb m365link.Mailbox) m365sync.TokenSource { return mgr.Source(mb.Account()) },
//		Sink:     matchsync.Sink(matcher, hostSink),          // vendors attached, then the host's store
//		State:    state, Leases: state, Window: m365sync.Window{Days: 90},
//	})
//	go engine.Run(ctx)
//
// Failures surface as typed states: engine.Status(mb.Key()) says
// "reconnect required", "throttled", "not mail-enabled" or "degraded", and
// errors match the sentinels below with errors.Is.
package m365link
