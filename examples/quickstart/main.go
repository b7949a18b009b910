// Command quickstart runs the whole m365link story offline, in seconds, on a
// fake Microsoft 365 tenant (package m365linktest) seeded with a
// procurement organisation: internal mailboxes, dozens of vendors with
// several domains (and a few writing from Gmail), thousands of messages,
// hundreds of meetings, mail between colleagues and newsletters.
//
// It goes through the public API as a host application would:
//
//  1. admin consent (consent, with the tenant's browser stand-in signing in
//     as a Global Administrator), proven by an app-only token;
//  2. the service connection test (consent.Connector.TestConnection);
//  3. the mailbox policy (sync.Policy: a group, nested groups resolved);
//  4. the initial sync of mail and calendars (sync, with a progress bar);
//  5. matching every message and meeting to its vendor (match, match/matchsync);
//  6. the per-vendor activity table and one vendor's timeline (stored in
//     the host's own tables);
//  7. a vendor's email arriving through a change notification (sync/notify,
//     on a loopback web server the fake posts to);
//  8. a reply to it (mailsend), in the vendor's thread;
//  9. a meeting booked at the first slot the buyer and a colleague are both
//     free (calendar).
//
// State (the library's sync state and the host's items) is kept in SQLite,
// in the system's temporary directory or at -db, so a second run is
// incremental and says so. -html writes the report as a page to open in
// a browser.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -html report.html
//	go run ./examples/quickstart -db ./quickstart.db -mailboxes 10 -messages 2000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/report"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/notify"
	"github.com/m365link/m365link/vendors"
)

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	o.now, o.timings = time.Now, true
	w := &errWriter{w: os.Stdout}
	o.tty = isTerminal(os.Stdout)
	if err := run(context.Background(), w, o); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	if w.err != nil {
		fmt.Fprintln(os.Stderr, "quickstart: writing the output:", w.err)
		os.Exit(1)
	}
}

// options are the command line's, and what a test fixes.
type options struct {
	db                  string
	mailboxes, messages int
	html                string
	fresh               bool

	now     func() time.Time // the day the story happens on
	timings bool             // print how long things took (not in tests)
	tty     bool             // redraw the progress bar in place
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	fs.StringVar(&o.db, "db", filepath.Join(os.TempDir(), "m365link-quickstart", "quickstart.db"),
		"the SQLite `file` for the sync state and the host's items; a second run on it is incremental")
	fs.IntVar(&o.mailboxes, "mailboxes", 6, "internal `mailboxes` in the fake tenant (at least 2; those in the synced group sync)")
	fs.IntVar(&o.messages, "messages", 800, "`messages` per mailbox (meetings: a twelfth of it, newsletters a thirtieth)")
	fs.StringVar(&o.html, "html", "", "also write the report as a self-contained HTML `file`")
	fs.BoolVar(&o.fresh, "fresh", false, "forget the state in -db and start over")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./examples/quickstart [flags]

Runs m365link's whole story offline on a fake Microsoft 365 tenant: admin
consent, the service connection, the mailbox policy, the initial sync of
mail and calendars, matching to vendors, the activity table, a change
notification, a reply and a booked meeting. Nothing leaves this machine.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "quickstart: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return o, errors.New("unexpected arguments")
	}
	if o.mailboxes < 2 || o.messages < 1 {
		fmt.Fprintln(stderr, "quickstart: -mailboxes must be at least 2 and -messages at least 1")
		return o, errors.New("bad flags")
	}
	return o, nil
}

// errWriter keeps the first write error, so that a full disk or a closed
// pipe is reported once at the end instead of being ignored line by line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func run(ctx context.Context, out io.Writer, o options) error {
	began := time.Now()
	day := o.now().UTC().Truncate(24 * time.Hour)
	spec := specOf(o)

	// State: the library's tables (sqlstore) and the host's, in one file.
	if o.fresh {
		if err := removeDB(o.db); err != nil {
			return err
		}
	}
	db, store, host, earlier, err := openState(ctx, o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	// The fake Graph listens where it did before, so the saved delta links
	// stay valid; another size of tenant, or a port now taken, starts over.
	ln, why := listen(earlier, specString(spec))
	if why != "" {
		db.Close()
		if err := removeDB(o.db); err != nil {
			return err
		}
		if db, store, host, earlier, err = openState(ctx, o.db); err != nil {
			return err
		}
		fmt.Fprintf(out, "Starting over (%s).\n", why)
	}
	n := len(earlier) + 1

	tenant := m365linktest.Start(m365linktest.RequireAdminConsent(), m365linktest.GraphListener(ln))
	defer tenant.Close()
	w, err := newWorld(tenant, spec)
	if err != nil {
		return err
	}
	if n == 1 {
		fmt.Fprintf(out, "m365link quickstart: a fake Microsoft 365 tenant, nothing leaves this machine. State: %s\n", o.db)
	} else {
		fmt.Fprintf(out, "m365link quickstart, run %d on %s: the sync picks up where run %d left off.\n", n, o.db, n-1)
	}
	users := 0
	for _, u := range w.gen.Users {
		if !u.NoMailbox {
			users++
		}
	}
	fmt.Fprintf(out, "Tenant contoso.com: %d mailboxes, %d vendors with %d domains, %d messages and %d meetings per mailbox, newsletters and mail between colleagues.\n",
		users, len(w.gen.Vendors), domains(w.gen.Vendors), spec.MessagesPerMailbox+spec.NewslettersPerMailbox, spec.EventsPerMailbox)

	// 1. Admin consent: the admin signs in first (their role is read from
	// Graph), then consents for exactly their tenant; an app-only token
	// proves it.
	cfg := tenant.ConsentConfig(nil)
	cfg.States = store.ConsentStates() // pending attempts in SQLite, as several instances need
	connector, err := consent.New(cfg)
	if err != nil {
		return err
	}
	ac, err := tenant.Browser(admin).AdminConsent(ctx, connector, &consent.AdminConsentOptions{ReturnTo: "/settings/m365"})
	if err != nil {
		return fmt.Errorf("admin consent: %w", err)
	}
	plan, err := consent.PlanFor(consent.Application, consent.MailSync, consent.CalendarSync, consent.MailboxPolicy, consent.SendMail, consent.TwoWayCalendar)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n1. Admin consent: %s (Global Administrator: %t) consented for tenant %s; app-only token: %t.\n   Application permissions to grant in Entra ID: %s\n",
		admin, ac.AdminRole == consent.RoleGlobalAdministrator, ac.TenantID, ac.Verified, strings.Join(permissionNames(plan), ", "))

	// 2. The service (app-only) connection, tested as an operator would.
	rep, err := connector.TestConnection(ctx, tenant.Graph(), tenant.ID(), w.buyer().UPN)
	if err != nil {
		return err
	}
	var checks []string
	for _, c := range rep.Checks {
		mark := "ok"
		if !c.OK() {
			mark = "FAILED: " + c.Remediation
		}
		checks = append(checks, c.Name+" "+mark)
	}
	fmt.Fprintf(out, "2. Service connection: %s.\n", strings.Join(checks, "; "))
	if !rep.OK() {
		return errors.New("the connection test failed")
	}

	// What earlier runs changed in the tenant happens again (their sync
	// state says they saw it).
	for _, r := range earlier {
		d, err := time.Parse(time.DateOnly, r.Day)
		if err != nil {
			return err
		}
		if err := w.replay(ctx, r.N, d); err != nil {
			return err
		}
	}

	// 3. The mailbox policy: the admin's sync group (Procurement nested).
	group := w.gen.Groups[2]
	dir, err := vendors.NewIndex(w.vendors)
	if err != nil {
		return err
	}
	matcher, err := match.New(match.Config{Directory: dir, InternalDomains: []string{m365linktest.Domain}, TrackedOnly: true})
	if err != nil {
		return err
	}
	appToken := func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() }
	prog := &progress{out: out, tty: o.tty, status: map[string]m365sync.Status{}, off: n > 1} // a bar for the initial sync only
	seedStart := time.Date(2026, 8, 22, 0, 0, 0, 0, time.UTC)                                 // the generated meetings' first day
	engine, err := m365sync.New(m365sync.Config{
		Client:   tenant.Graph(),
		TenantID: tenant.ID(),
		Tokens:   appToken,
		Policy:   m365sync.Policy{Groups: []string{group.ID}},
		Sink:     matchsync.Sink(matcher, host),
		Calendar: m365sync.CalendarOptions{Sink: matchsync.EventSink(matcher, host),
			PastDays: max(90, int(time.Since(seedStart).Hours()/24)+1)},
		State:      store.SyncState(),
		Leases:     store.Leases(),
		OnProgress: prog.update,
	})
	if err != nil {
		return err
	}
	mailboxes, err := engine.Mailboxes(ctx)
	if err != nil {
		return err
	}
	sort.Slice(mailboxes, func(i, j int) bool { return mailboxes[i].UPN < mailboxes[j].UPN })
	var names []string
	upns := map[string]string{}
	for _, mb := range mailboxes {
		names = append(names, mb.UPN)
		upns[mb.Key()] = mb.UPN
	}
	fmt.Fprintf(out, "3. Mailbox policy: members of %q (Procurement nested): %d of %d mailboxes: %s.\n",
		group.DisplayName, len(mailboxes), users, strings.Join(names, ", "))

	// 4. and 5. Sync mail and calendars; every page is matched on its way
	// into the host's tables.
	w.awayChanges(n, day)
	start := time.Now()
	results, err := engine.RunOnce(ctx)
	if err != nil {
		return err
	}
	prog.done()
	c := engine.Counters()
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(out, "   %s: %s: %v\n", r.Mailbox.UPN, r.State, r.Err)
		}
	}
	if n == 1 {
		fmt.Fprintf(out, "4. Initial sync: %d mailboxes, %d items (mail and meetings) in %d requests to Graph", len(results), c.Items, c.Requests)
	} else {
		fmt.Fprintf(out, "4. Incremental sync (state of run %d): %d new or changed items, %d removed, in %d requests to Graph", n-1, c.Items, c.Removals, c.Requests)
	}
	if o.timings {
		fmt.Fprintf(out, ", %s", time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintln(out, ".")
	if failed > 0 {
		return fmt.Errorf("%d mailboxes failed to sync", failed)
	}
	mail, vendorMail, meetings, vendorMeetings, err := host.counts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "5. Matching: %d of %d messages and %d of %d meetings are with vendors; the rest are between colleagues, newsletters and notifications.\n",
		vendorMail, mail, vendorMeetings, meetings)

	// 6. What the host shows: the activity per vendor, and a timeline.
	data, err := reportData(ctx, host, engine, mailboxes, w, upns, o.now())
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n6. Vendor activity (the ten most active):")
	if err := report.Table(out, topN(data, 10)); err != nil {
		return err
	}
	top := report.Summarize(data)[0]
	fmt.Fprintln(out)
	if err := report.Timeline(out, data, top.ID, 5); err != nil {
		return err
	}

	// 7. Change notifications: Graph posts to the host's web server (here
	// on loopback; in production an https URL Graph can reach), and the
	// manager turns them into delta passes.
	triggered := make(chan m365link.Mailbox, 64)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mgr, err := notify.New(notify.Config{
		Client: tenant.Graph(), TenantID: tenant.ID(), Tokens: func(m365link.Mailbox) graphclient.TokenSource { return tenant.AppToken() },
		NotificationURL: srv.URL + "/m365/notify",
		Target:          trigger(triggered), Mailboxes: engine.Mailboxes, State: store.SyncState(), Coalesce: -1,
	})
	if err != nil {
		return err
	}
	mux.Handle("/m365/notify", mgr.Handler())
	if err := mgr.Reconcile(ctx); err != nil {
		return fmt.Errorf("subscribe to change notifications: %w", err)
	}
	msg := w.newMail(n, day)
	buyer := w.buyer().Mailbox()
	if err := waitFor(ctx, triggered, buyer); err != nil {
		return err
	}
	before := engine.Counters().Items
	if err := engine.SyncOnce(ctx, mailboxFor(mailboxes, buyer)); err != nil {
		return err
	}
	got, err := host.item(ctx, buyer, msg.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n7. Change notification for %s (%d subscriptions, mail and events): the delta pass brought %d item: %q from %s -> %s.\n",
		buyer.UPN, len(tenant.Subscriptions()), engine.Counters().Items-before, got.Subject, msg.From.Address, vendorNames(w, got.VendorIDs))

	// 8. Reply in the vendor's thread.
	sent, err := w.reply(ctx, n, msg)
	if err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	fmt.Fprintf(out, "8. Replied from %s: %q to %s, in the same conversation: %t.\n",
		buyer.UPN, lastSent(tenant).Subject, msg.From.Address, sent.ConversationID == msg.ConversationID)

	// 9. Book a meeting at the first common free slot.
	b, err := w.book(ctx, n, day)
	if err != nil {
		return fmt.Errorf("book a meeting: %w", err)
	}
	loc := b.Location
	fmt.Fprintf(out, "9. Booked %q, %s–%s (%s, the first half hour %s and %s are both free), Teams: %t.\n",
		b.Event.Subject, b.Event.Start.In(loc).Format("Mon 2 Jan 15:04"), b.Event.End.In(loc).Format("15:04"), b.TimeZone,
		w.buyer().UPN, w.colleague().UPN, b.Event.JoinURL != "")

	// The reply and the meeting come back through the sync too.
	if err := engine.SyncOnce(ctx, mailboxFor(mailboxes, buyer)); err != nil {
		return err
	}
	if data, err = reportData(ctx, host, engine, mailboxes, w, upns, o.now()); err != nil {
		return err
	}
	v, _ := w.storyVendor(n)
	for _, a := range report.Summarize(data) {
		if a.ID == slug(v.Name) {
			fmt.Fprintf(out, "   %s now: %d messages, %d meetings.\n", a.Name, a.Messages, a.Meetings)
		}
	}

	if o.html != "" {
		if err := writeHTML(o.html, data); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nReport written to %s (open it in a browser).\n", o.html)
	}
	if err := host.addRun(ctx, pastRun{N: n, Day: day.Format(time.DateOnly), Spec: specString(spec), Graph: ln.Addr().String()}); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDone: run %d.", n)
	if o.timings {
		fmt.Fprintf(out, " %s in all.", time.Since(began).Round(time.Millisecond))
	}
	fmt.Fprintf(out, " Run it again for an incremental sync, or -fresh to start over.\n")
	return nil
}
