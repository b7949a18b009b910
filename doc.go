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
//     with an explanation.
//   - calendar and mailsend: meetings and mail to vendors.
//   - internal/graph: the one HTTP layer (auth, immutable IDs, per-mailbox
//     pacing, retries, typed errors, paging with an origin check).
//   - internal/fakegraph: an in-process fake of Graph that every test and
//     the offline quickstart (go run ./examples/quickstart) run on.
//
// # How the pieces fit
//
// A host wires them once at start-up. The packages above land one at a
// time; this is the shape they take together (the sync package is
// imported under an alias, as its name shadows the standard library's):
//
//	store := tokensql.New(db)                         // host's database holds tokens,
//	keys := tokens.NewKeyRing(primaryKey)             // encrypted at rest
//	tok := tokens.Encrypted(store, keys)
//	app := consent.App{ClientID: id, Credential: secret, Tokens: tok}
//	http.Handle("/m365/", app.Handler(hooks))         // admin consent + user connect
//
//	engine := m365sync.New(m365sync.Config{
//		Tokens:  tok,                                 // per-account token sources
//		State:   syncsql.NewState(db),                // cursors, saved after the sink commits
//		Leases:  syncsql.NewLeases(db),               // many workers, one mailbox each
//		Policy:  policy,                              // which mailboxes, which folders, how far back
//		Sink:    match.Sink(matcher, hostSink),       // attach vendors, then the host's sink
//	})
//	go engine.Run(ctx)
//
//	for err := range engine.Errors() {
//		if errors.Is(err, m365link.ErrReconnectRequired) { notifyUser(err) }
//	}
package m365link
