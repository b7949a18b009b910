package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	gosync "sync"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

// openDB opens (creating it if need be) the SQLite database at path.
func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadVendors reads a vendors CSV file: a header line, then
// id,name,domains,contacts with domains and contacts separated by ";".
func loadVendors(path string) ([]vendors.Vendor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []vendors.Vendor
	for i, rec := range recs {
		if i == 0 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "id") {
			continue // header
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("%s line %d: want id,name,domains[,contacts]", path, i+1)
		}
		v := vendors.Vendor{ID: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1]), Tracked: true}
		for _, d := range strings.Split(rec[2], ";") {
			if d = strings.TrimSpace(d); d != "" {
				v.Domains = append(v.Domains, d)
			}
		}
		if len(rec) > 3 {
			for _, c := range strings.Split(rec[3], ";") {
				if c = strings.TrimSpace(c); c != "" {
					v.Contacts = append(v.Contacts, c)
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// fakeVendors are the fake tenant's vendors as a host would list them.
func fakeVendors(gen *m365linktest.Generated) []vendors.Vendor {
	var out []vendors.Vendor
	for _, v := range gen.Vendors {
		vv := vendors.Vendor{ID: v.Domains[0], Name: v.Name, Domains: v.Domains, Tracked: true}
		for _, c := range v.Contacts {
			vv.Contacts = append(vv.Contacts, c.Address)
		}
		out = append(out, vv)
	}
	return out
}

type syncOnceFlags struct {
	db, mailboxes, groups, vendorsFile, internal, html string
	all, calendar, quiet                               bool
	window, workers                                    int
}

func (c *cli) syncOnce(ctx context.Context, args []string) error {
	fs := c.flags("sync-once", "[--db FILE] [--mailboxes a@x,b@y | --groups ID,... | --all] [--vendors FILE] [--html FILE]",
		"Runs one sync pass over the selected mailboxes (mail: Inbox and Sent Items; calendar)\n"+
			"into a SQLite database: the sync engine's state through sqlstore, and each message\n"+
			"and meeting with the vendors it matched. A second run is incremental. It shows a\n"+
			"progress bar (on stderr), a summary per mailbox, and the activity per vendor; --html\n"+
			"writes the same as a page to open in a browser.\n\n"+
			"Vendors come from --vendors, a CSV file with a header and the columns\n"+
			"id,name,domains,contacts (domains and contacts separated by \";\"). With --fake they\n"+
			"are the fake tenant's, every generated user is selected by name (one has no mailbox,\n"+
			"to show that state) and, without --db, the database is thrown away afterwards.", true)
	var f syncOnceFlags
	fs.StringVar(&f.db, "db", "", "SQLite database file (default $"+envDB+", else m365link.db)")
	fs.StringVar(&f.mailboxes, "mailboxes", "", "comma-separated mailboxes (UPNs or user IDs) to sync")
	fs.StringVar(&f.groups, "groups", "", "comma-separated group object IDs whose members to sync")
	fs.BoolVar(&f.all, "all", false, "sync every mailbox of the tenant (the default without --mailboxes or --groups)")
	fs.StringVar(&f.vendorsFile, "vendors", "", "vendors CSV file: id,name,domains,contacts")
	fs.StringVar(&f.internal, "internal-domains", "", "the tenant's own domains, comma-separated (default: the domains of the synced mailboxes)")
	fs.BoolVar(&f.calendar, "calendar", true, "sync calendars too")
	fs.IntVar(&f.window, "window", 90, "days of history a mailbox's first sync reads (0: all)")
	fs.IntVar(&f.workers, "workers", 4, "mailboxes synced at once")
	fs.StringVar(&f.html, "html", "", "also write the report as an HTML page to this file")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if f.workers < 1 {
		fmt.Fprintln(c.stderr, "--workers must be at least 1")
		return errUsage
	}
	t, err := c.connect("", true)
	if err != nil {
		return err
	}
	defer t.Close()

	path := c.dbPath(f.db)
	if path == "" {
		p, cleanup, err := tempDB()
		if err != nil {
			return err
		}
		defer cleanup()
		path = p
	}
	db, err := openDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if c.fake {
		if keys, err := store.SyncState().ListMailboxes(ctx); err == nil && len(keys) > 0 {
			fmt.Fprintf(c.stderr, "note: --fake starts a new fake tenant every run, so its %d mailboxes in %s sync from the start again\n", len(keys), path)
		}
	}
	items, err := newItemStore(ctx, db)
	if err != nil {
		return err
	}

	var vs []vendors.Vendor
	switch {
	case f.vendorsFile != "":
		if vs, err = loadVendors(f.vendorsFile); err != nil {
			return err
		}
	case t.Generated != nil:
		vs = fakeVendors(t.Generated)
	}
	index, err := vendors.NewIndex(vs)
	if err != nil {
		return err
	}

	policy := m365sync.Policy{Users: splitList(f.mailboxes), Groups: splitList(f.groups), AllMailboxes: f.all}
	if len(policy.Users) == 0 && len(policy.Groups) == 0 {
		if t.Generated != nil && !f.all {
			for _, u := range t.Generated.Users {
				policy.Users = append(policy.Users, u.UPN)
			}
		} else {
			policy.AllMailboxes = true
		}
	}
	var internal []string
	if f.internal != "" {
		internal = splitList(f.internal)
	}

	// The engine is made twice: once to resolve the policy (which tells the
	// internal domains the matcher needs), then with the matching sink.
	cfg := m365sync.Config{
		Client:   t.Graph,
		TenantID: t.Tenant,
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return t.AppToken() },
		Policy:   policy,
		State:    store.SyncState(),
		Leases:   store.Leases(),
		Sink:     discardSink{},
	}
	if f.window > 0 {
		cfg.Window = m365sync.Window{Days: f.window}
	}
	probe, err := m365sync.New(cfg)
	if err != nil {
		return err
	}
	mailboxes, err := probe.Mailboxes(ctx)
	if err != nil {
		return fmt.Errorf("reading the mailboxes of the policy: %w", err)
	}
	sort.Slice(mailboxes, func(i, j int) bool { return mailboxes[i].String() < mailboxes[j].String() })
	if len(internal) == 0 {
		for _, mb := range mailboxes {
			if i := strings.LastIndexByte(mb.UPN, '@'); i >= 0 {
				if d := strings.ToLower(mb.UPN[i+1:]); !slices.Contains(internal, d) {
					internal = append(internal, d)
				}
			}
		}
	}
	matcher, err := match.New(match.Config{Directory: index, InternalDomains: internal, TrackedOnly: true})
	if err != nil {
		return err
	}
	prog := newProgress(c.stderr, len(mailboxes))
	cfg.Sink = matchsync.Sink(matcher, items)
	if f.calendar {
		cfg.Calendar = m365sync.CalendarOptions{Sink: matchsync.EventSink(matcher, items)}
	}
	if !f.quiet {
		cfg.OnProgress = prog.Update
	}
	engine, err := m365sync.New(cfg)
	if err != nil {
		return err
	}

	fmt.Fprintf(c.stdout, "Syncing %d mailboxes of tenant %s into %s\n", len(mailboxes), t.Tenant, displayPath(path, f.db != "" || c.getenv(envDB) != ""))
	start := time.Now()
	errs := make([]error, len(mailboxes))
	sem := make(chan struct{}, f.workers)
	var wg gosync.WaitGroup
	for i, mb := range mailboxes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = engine.SyncOnce(ctx, mb)
			if !f.quiet {
				prog.MailboxDone(mb.Key())
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if !f.quiet {
		prog.Finish()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// The summary, per mailbox and in all.
	fmt.Fprintln(c.stdout)
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MAILBOX\tSTATE\tMESSAGES\tMEETINGS\tMATCHED\tNOTE")
	states := map[m365sync.State]int{}
	var msgs, evs, matched, failed int
	statuses := make([]m365sync.Status, len(mailboxes))
	for i, mb := range mailboxes {
		st, ok := engine.Status(mb.Key())
		if !ok {
			st = m365sync.Status{Mailbox: mb, State: m365sync.StateError}
		}
		statuses[i] = st
		states[st.State]++
		n := items.Counts(mb)
		msgs, evs, matched = msgs+n.Messages, evs+n.Events, matched+n.Matched
		note := oneLine(st.Reason)
		if errs[i] != nil && !errors.Is(errs[i], m365link.ErrMailboxNotEnabled) {
			failed++
			if note == "" {
				note = oneLine(errs[i].Error())
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", mb, st.State, n.Messages, n.Events, n.Matched, truncate(note, 80))
	}
	w.Flush()
	cnt := engine.Counters()
	var stateList []string
	for _, s := range []m365sync.State{m365sync.StateIdle, m365sync.StateIncremental, m365sync.StateInitial, m365sync.StateNotMailEnabled,
		m365sync.StateReconnectRequired, m365sync.StateThrottled, m365sync.StateDegraded, m365sync.StateError} {
		if states[s] > 0 {
			stateList = append(stateList, fmt.Sprintf("%d %s", states[s], s))
		}
	}
	fmt.Fprintf(c.stdout, "\nSynced %d mailboxes in %s: %s.\n", len(mailboxes), took.Round(10*time.Millisecond), strings.Join(stateList, ", "))
	fmt.Fprintf(c.stdout, "This pass: %s messages and %s meetings (%s matched to a vendor), %s removals; %s requests to Graph, %s throttled.\n",
		thousands(msgs), thousands(evs), thousands(matched), thousands(cnt.Removals), thousands(cnt.Requests), thousands(cnt.Throttled))
	if len(vs) == 0 {
		fmt.Fprintln(c.stdout, "No vendors given (--vendors FILE): nothing was matched.")
	}

	if err := c.writeReport(ctx, items, vs, statuses, f.html, t.Tenant); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(c.stderr, "%d mailboxes failed; see the NOTE column and \"m365link status\".\n", failed)
		return errFailed
	}
	return nil
}

func displayPath(path string, chosen bool) string {
	if chosen {
		return path
	}
	if path == "m365link.db" {
		return path
	}
	return "a throwaway database"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// discardSink is the sink of the engine that only resolves the policy.
type discardSink struct{}

func (discardSink) Apply(context.Context, *m365sync.Page) error            { return nil }
func (discardSink) Reset(context.Context, m365sync.Reset) error            { return nil }
func (discardSink) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }
