// Command syncd is a mail and calendar sync daemon on SQLite: it keeps the
// mailboxes a policy file selects mirrored into a database with the sync
// engine's Run, logs where they stand, and stops cleanly on SIGINT or SIGTERM
// (the passes in flight finish their page and checkpoint; the next start
// resumes from there). Several syncd processes may share one database: the
// mailboxes' leases are in it too.
//
//	M365LINK_TENANT_ID=… M365LINK_CLIENT_ID=… M365LINK_CLIENT_SECRET=… \
//	go run ./examples/syncd -db sync.db -policy policy.json
//
// The policy file is JSON in the words of sync.Policy, re-read on SIGHUP:
//
//	{"groups": ["<object ID of the Procurement group>"], "denyUsers": ["ceo@contoso.com"]}
//	{"users": ["alice@contoso.com", "bob@contoso.com"]}
//	{"allMailboxes": true}
//
// Configuration, by environment variable and flag:
//
//	M365LINK_TENANT_ID      the tenant whose mailboxes sync (app-only access)
//	M365LINK_CLIENT_ID      the app registration's application (client) ID
//	M365LINK_CLIENT_SECRET  a client secret of it (application permissions
//	                        Mail.Read, Calendars.Read, User.Read.All, and
//	                        Group.Read.All for groups; see m365link permissions)
//	M365LINK_CLOUD          global (default), usgov-l4, usgov-l5 or china
//	-db FILE                the SQLite database (default $M365LINK_DB, else syncd.db)
//	-policy FILE            the mailbox policy (required unless -fake)
//	-interval, -workers, -window, -status-every: see -help
//
// Every -status-every it prints one line per mailbox whose state changed and a
// summary; at shutdown, the table of every mailbox. With -fake it syncs the
// in-process fake tenant of package m365linktest instead, every user selected.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/tokens"
)

// config is everything the daemon runs with.
type config struct {
	Tenant      string
	Graph       *graphclient.Client
	Token       m365sync.TokenSource
	DB          *sql.DB
	Policy      m365sync.Policy
	Interval    time.Duration
	Workers     int
	WindowDays  int
	StatusEvery time.Duration
	// Reload, when it delivers, re-reads the policy (SIGHUP).
	Reload     <-chan struct{}
	LoadPolicy func() (m365sync.Policy, error)
}

func main() {
	dbPath := flag.String("db", envOr("M365LINK_DB", "syncd.db"), "SQLite database file")
	policyPath := flag.String("policy", "", "mailbox policy file (JSON; see the package documentation)")
	interval := flag.Duration("interval", time.Minute, "time between a mailbox's incremental passes")
	workers := flag.Int("workers", 8, "mailboxes synced at once")
	window := flag.Int("window", 90, "days of history a mailbox's first sync reads (0: all)")
	statusEvery := flag.Duration("status-every", 30*time.Second, "how often to print the mailboxes' states")
	fake := flag.Bool("fake", false, "sync an in-process fake tenant")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()

	db, err := openDB(*dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	cfg := config{DB: db, Interval: *interval, Workers: *workers, WindowDays: *window, StatusEvery: *statusEvery, Reload: reload}
	if *fake {
		t := m365linktest.Start()
		defer t.Close()
		gen := t.Generate(m365linktest.Spec{Mailboxes: 4, WithoutMailbox: 1, MessagesPerMailbox: 200, EventsPerMailbox: 20, Vendors: 8, Seed: 3})
		cfg.Tenant, cfg.Graph, cfg.Token = t.ID(), t.Graph(), t.AppToken()
		for _, u := range gen.Users {
			cfg.Policy.Users = append(cfg.Policy.Users, u.UPN)
		}
	} else {
		if err := fromEnv(&cfg, os.Getenv); err != nil {
			log.Fatal(err)
		}
		if *policyPath == "" {
			log.Fatal("-policy FILE is required (or run with -fake)")
		}
		cfg.LoadPolicy = func() (m365sync.Policy, error) { return loadPolicy(*policyPath) }
		if cfg.Policy, err = cfg.LoadPolicy(); err != nil {
			log.Fatal(err)
		}
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	return db, db.Ping()
}

// fromEnv configures app-only access to a real tenant.
func fromEnv(cfg *config, getenv func(string) string) error {
	tenant, clientID, secret := getenv("M365LINK_TENANT_ID"), getenv("M365LINK_CLIENT_ID"), getenv("M365LINK_CLIENT_SECRET")
	if tenant == "" || clientID == "" || secret == "" {
		return errors.New("set M365LINK_TENANT_ID, M365LINK_CLIENT_ID and M365LINK_CLIENT_SECRET (or run with -fake)")
	}
	cloud, ok := m365link.CloudNamed(getenv("M365LINK_CLOUD"))
	if !ok {
		return fmt.Errorf("M365LINK_CLOUD=%q: want global, usgov-l4, usgov-l5 or china", getenv("M365LINK_CLOUD"))
	}
	cred, err := tokens.ClientSecret(secret)
	if err != nil {
		return err
	}
	// App-only tokens are fetched again at start-up: memory is enough.
	mgr, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Cloud: cloud, Store: &tokens.Memory{}})
	if err != nil {
		return err
	}
	gc, err := graphclient.New(graphclient.Config{Cloud: cloud})
	if err != nil {
		return err
	}
	cfg.Tenant, cfg.Graph, cfg.Token = tenant, gc, mgr.Source(m365link.Account{TenantID: tenant})
	return nil
}

// loadPolicy reads a policy file.
func loadPolicy(path string) (m365sync.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return m365sync.Policy{}, err
	}
	var f struct {
		AllMailboxes bool     `json:"allMailboxes"`
		Users        []string `json:"users"`
		Groups       []string `json:"groups"`
		DenyUsers    []string `json:"denyUsers"`
		DenyGroups   []string `json:"denyGroups"`
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return m365sync.Policy{}, fmt.Errorf("%s: %w", path, err)
	}
	p := m365sync.Policy{AllMailboxes: f.AllMailboxes, Users: f.Users, Groups: f.Groups, DenyUsers: f.DenyUsers, DenyGroups: f.DenyGroups}
	if !p.AllMailboxes && len(p.Users) == 0 && len(p.Groups) == 0 {
		return p, fmt.Errorf("%s selects no mailbox: give allMailboxes, users or groups", path)
	}
	return p, nil
}

// run syncs until ctx ends, then prints every mailbox's state.
func run(ctx context.Context, cfg config, out io.Writer) error {
	store, err := sqlstore.New(cfg.DB, sqlstore.SQLite, nil)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	sink, err := newSink(ctx, cfg.DB)
	if err != nil {
		return err
	}
	ecfg := m365sync.Config{
		Client:   cfg.Graph,
		TenantID: cfg.Tenant,
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return cfg.Token },
		Policy:   cfg.Policy,
		Sink:     sink,
		Calendar: m365sync.CalendarOptions{Sink: sink},
		State:    store.SyncState(),
		Leases:   store.Leases(),
		Schedule: m365sync.Schedule{Interval: cfg.Interval, Workers: cfg.Workers},
	}
	if cfg.WindowDays > 0 {
		ecfg.Window = m365sync.Window{Days: cfg.WindowDays}
	}
	engine, err := m365sync.New(ecfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "syncd: syncing tenant %s (SIGINT or SIGTERM stops, SIGHUP re-reads the policy)\n", cfg.Tenant)
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()

	every := cfg.StatusEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	seen := map[string]m365sync.State{}
	for {
		select {
		case err := <-done:
			printChanges(out, engine, seen)
			printTable(out, engine, sink)
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintln(out, "syncd: stopped cleanly; the next start resumes where each mailbox stopped")
				return nil
			}
			return err
		case <-tick.C:
			printChanges(out, engine, seen)
		case <-cfg.Reload:
			if cfg.LoadPolicy == nil {
				continue
			}
			p, err := cfg.LoadPolicy()
			if err != nil {
				fmt.Fprintf(out, "syncd: policy not changed: %v\n", err)
				continue
			}
			engine.SetPolicy(p)
			fmt.Fprintln(out, "syncd: policy re-read")
		}
	}
}

// printChanges prints the mailboxes whose state changed since last time,
// and a summary.
func printChanges(out io.Writer, engine *m365sync.Engine, seen map[string]m365sync.State) {
	for _, st := range engine.Statuses() {
		k := st.Mailbox.Key()
		if seen[k] == st.State {
			continue
		}
		seen[k] = st.State
		line := fmt.Sprintf("syncd: %s is %s", st.Mailbox, st.State)
		if st.Reason != "" {
			line += ": " + st.Reason
		}
		fmt.Fprintln(out, line)
	}
	s := engine.Summary()
	fmt.Fprintf(out, "syncd: %d passes, %d items, %d requests, %d throttled\n", s.Passes, s.Counters.Items, s.Counters.Requests, s.Counters.Throttled)
}

// printTable prints every mailbox's state and what the sink holds of it.
func printTable(out io.Writer, engine *m365sync.Engine, sink *sink) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MAILBOX\tSTATE\tMESSAGES\tEVENTS\tLAST SYNC\tREASON")
	for _, st := range engine.Statuses() {
		msgs, evs := sink.count(st.Mailbox.Key())
		last := "never"
		if !st.LastSync.IsZero() {
			last = st.LastSync.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", st.Mailbox, st.State, msgs, evs, last, st.Reason)
	}
	w.Flush()
}
