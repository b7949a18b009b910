package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/internal/report"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
)

// openState opens the SQLite file, migrates the library's tables and the
// host's, and reads the earlier runs.
func openState(ctx context.Context, path string) (*sql.DB, *sqlstore.Store, *hostStore, []pastRun, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, nil, nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*sql.DB, *sqlstore.Store, *hostStore, []pastRun, error) {
		db.Close()
		return nil, nil, nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		return fail(err)
	}
	if err := store.Migrate(ctx); err != nil {
		return fail(err)
	}
	host, err := newHostStore(ctx, db)
	if err != nil {
		return fail(err)
	}
	runs, err := host.runs(ctx)
	if err != nil {
		return fail(err)
	}
	return db, store, host, runs, nil
}

func removeDB(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// listen opens the fake Graph's port: the earlier runs' one, or a new one
// with the reason to start over when that cannot be.
func listen(earlier []pastRun, spec string) (net.Listener, string) {
	fresh := func(why string) (net.Listener, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err) // no loopback at all: nothing in this program can work
		}
		return ln, why
	}
	if len(earlier) == 0 {
		return fresh("")
	}
	last := earlier[len(earlier)-1]
	if last.Spec != spec {
		return fresh("the database holds a tenant of another size")
	}
	ln, err := net.Listen("tcp", last.Graph)
	if err != nil {
		return fresh("the fake Graph's port " + last.Graph + " is taken")
	}
	return ln, ""
}

func domains(vs []m365linktest.Vendor) int {
	n := 0
	for _, v := range vs {
		n += len(v.Domains)
	}
	return n
}

func permissionNames(p consent.Plan) []string {
	var out []string
	for _, n := range p.Needs {
		if n.Permission.Type == consent.Application {
			out = append(out, n.Permission.Name)
		}
	}
	return out
}

// progress draws the initial sync's progress bar from the engine's
// OnProgress calls: items delivered against the folders' item counts, over
// every mailbox. On a terminal it redraws in place; otherwise it prints
// the finished bar once.
type progress struct {
	out    interface{ Write([]byte) (int, error) }
	tty    bool
	mu     sync.Mutex
	status map[string]m365sync.Status
	drawn  time.Time
	off    bool
}

func (p *progress) update(st m365sync.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off {
		return
	}
	p.status[st.Mailbox.Key()] = st
	if p.tty && time.Since(p.drawn) > 50*time.Millisecond {
		p.drawn = time.Now()
		fmt.Fprintf(p.out, "\r%s", p.bar(false))
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.status) == 0 {
		return
	}
	if p.tty {
		fmt.Fprintf(p.out, "\r%s\n", p.bar(true))
		return
	}
	fmt.Fprintln(p.out, p.bar(true))
}

func (p *progress) bar(done bool) string {
	const width = 30
	items, estimate := 0, 0
	for _, st := range p.status {
		items += st.Items
		estimate += max(st.Estimate, st.Items)
	}
	frac := 1.0
	if !done && estimate > 0 {
		frac = float64(items) / float64(estimate)
	}
	n := int(frac * width)
	return fmt.Sprintf("   [%s%s] %3d%%  %d items, %d mailboxes", strings.Repeat("#", n), strings.Repeat(".", width-n), int(frac*100), items, len(p.status))
}

// trigger is the change notifications' Target: it hands the mailboxes
// that changed to the program, which runs their delta passes (a host
// running Engine.Run gives the engine itself).
type trigger chan m365link.Mailbox

func (t trigger) Trigger(mb m365link.Mailbox) {
	select {
	case t <- mb:
	default: // a pass is due anyway
	}
}

func waitFor(ctx context.Context, t trigger, mb m365link.Mailbox) error {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-t:
			if got.Key() == mb.Key() {
				return nil
			}
		case <-timeout:
			return errors.New("no change notification within 10 s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func mailboxFor(mbs []m365link.Mailbox, mb m365link.Mailbox) m365link.Mailbox {
	for _, m := range mbs {
		if m.Key() == mb.Key() {
			return m
		}
	}
	return mb
}

func vendorNames(w *world, ids []string) string {
	var names []string
	for _, id := range ids {
		for _, v := range w.vendors {
			if v.ID == id {
				names = append(names, v.Name)
			}
		}
	}
	if len(names) == 0 {
		return "no vendor"
	}
	return strings.Join(names, ", ")
}

func lastSent(t *m365linktest.Tenant) m365linktest.SentMail {
	mail := t.SentMail()
	if len(mail) == 0 {
		return m365linktest.SentMail{}
	}
	return mail[len(mail)-1]
}

// reportData gathers what the report shows from the host's tables and the
// engine's statuses.
func reportData(ctx context.Context, host *hostStore, engine *m365sync.Engine, mbs []m365link.Mailbox, w *world, upns map[string]string, now time.Time) (*report.Data, error) {
	items, err := host.items(ctx, upns)
	if err != nil {
		return nil, err
	}
	counts, err := host.perMailbox(ctx)
	if err != nil {
		return nil, err
	}
	d := &report.Data{Title: "Contoso: vendor activity", Generated: now.UTC().Truncate(time.Minute), Items: items}
	for _, v := range w.vendors {
		d.Vendors = append(d.Vendors, report.Vendor{ID: v.ID, Name: v.Name})
	}
	for _, mb := range mbs {
		st, _ := engine.Status(mb.Key())
		d.Mailboxes = append(d.Mailboxes, report.MailboxStatus{Mailbox: mb.UPN, State: string(st.State), Reason: st.Reason,
			LastSync: st.LastSync.UTC().Truncate(time.Minute), Items: counts[mb.Key()]})
	}
	return d, nil
}

// topN keeps the n most active vendors' items, for a short table.
func topN(d *report.Data, n int) *report.Data {
	keep := map[string]bool{}
	for i, a := range report.Summarize(d) {
		if i < n {
			keep[a.ID] = true
		}
	}
	out := *d
	out.Vendors = nil
	for _, v := range d.Vendors {
		if keep[v.ID] {
			out.Vendors = append(out.Vendors, v)
		}
	}
	out.Items = nil
	for _, it := range d.Items {
		var ids []string
		for _, id := range it.VendorIDs {
			if keep[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			it.VendorIDs = ids
			out.Items = append(out.Items, it)
		}
	}
	return &out
}

func writeHTML(path string, d *report.Data) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.HTML(f, d); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
