package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
)

// statusJSON is one mailbox of status --json.
type statusJSON struct {
	Key      string    `json:"key"`
	Mailbox  string    `json:"mailbox"`
	State    string    `json:"state"`
	LastSync time.Time `json:"lastSync,omitzero"`
	Items    int       `json:"items"`
	Stored   int       `json:"stored"`
	Folders  int       `json:"folders"`
	Reason   string    `json:"reason,omitempty"`
}

func (c *cli) status(ctx context.Context, args []string) error {
	fs := c.flags("status", "[--db FILE] [--json]",
		"Prints where each mailbox stands, as the sync state store holds it: its state, when its\n"+
			"last pass ended without error, the items that pass delivered, the items stored, and\n"+
			"why it is not syncing. It reads the database only: no call to Microsoft. With --fake\n"+
			"and no --db, it first runs one quiet sync-once into a throwaway database.", true)
	dbFlag := fs.String("db", "", "SQLite database file (default $"+envDB+", else m365link.db)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	path := c.dbPath(*dbFlag)
	if path == "" { // --fake without a database: make one
		p, cleanup, err := tempDB()
		if err != nil {
			return err
		}
		defer cleanup()
		path = p
		quiet := *c
		quiet.stdout = io.Discard
		if err := quiet.syncOnce(ctx, []string{"--quiet", "--db", path}); err != nil && !errors.Is(err, errFailed) {
			return err
		}
	} else if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no state store at %s (run sync-once first, or give --db): %w", path, err)
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
	keys, err := store.SyncState().ListMailboxes(ctx)
	if err != nil {
		return err
	}
	// An engine only to read statuses: it never syncs, so its tenant,
	// tokens and sink are placeholders.
	engine, err := m365sync.New(m365sync.Config{TenantID: "status", State: store.SyncState(), Sink: discardSink{},
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return nil }})
	if err != nil {
		return err
	}
	stored := countsByMailbox(ctx, db)
	var out []statusJSON
	for _, k := range keys {
		st, err := engine.LoadStatus(ctx, k)
		if err != nil {
			return fmt.Errorf("status of %s: %w", k, err)
		}
		name := st.Mailbox.String()
		if st.Mailbox == (m365link.Mailbox{}) {
			name = k
		}
		out = append(out, statusJSON{Key: k, Mailbox: name, State: string(st.State), LastSync: st.LastSync, Items: st.Items,
			Stored: stored[k], Folders: len(st.Folders), Reason: oneLine(st.Reason)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Mailbox < out[j].Mailbox })
	if *asJSON {
		if out == nil {
			out = []statusJSON{}
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		_, err := fmt.Fprintf(c.stdout, "No mailbox has synced into %s yet.\n", path)
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MAILBOX\tSTATE\tLAST SYNC\tLAST PASS\tSTORED\tFOLDERS\tREASON")
	counts := map[string]int{}
	for _, s := range out {
		last := "never"
		if !s.LastSync.IsZero() {
			last = s.LastSync.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Mailbox, s.State, last, s.Items, s.Stored, s.Folders, truncate(s.Reason, 80))
		counts[s.State]++
	}
	w.Flush()
	var parts []string
	for _, s := range []m365sync.State{m365sync.StateIdle, m365sync.StateIncremental, m365sync.StateInitial, m365sync.StateNotMailEnabled,
		m365sync.StateReconnectRequired, m365sync.StateThrottled, m365sync.StateDegraded, m365sync.StateError, m365sync.StateRemoved} {
		if counts[string(s)] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[string(s)], s))
		}
	}
	_, err = fmt.Fprintf(c.stdout, "\n%d mailboxes: %s.\n", len(out), strings.Join(parts, ", "))
	return err
}
