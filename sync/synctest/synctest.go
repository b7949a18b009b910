// Package synctest checks that a host's implementations of the sync
// engine's interfaces keep the contracts the engine relies on. A host runs
// them from its own tests:
//
//	func TestStateStore(t *testing.T) {
//		synctest.RunStateStore(t, func(t *testing.T) m365sync.StateStore { return newMyStore(t) })
//	}
//	func TestLeaseStore(t *testing.T) {
//		synctest.RunLeaseStore(t, func(t *testing.T) m365sync.LeaseStore { return newMyStore(t) })
//	}
//	func TestSink(t *testing.T) {
//		synctest.RunSink(t, func(t *testing.T) (m365sync.Sink, synctest.Contents) {
//			s := newMySink(t)
//			return s, s.contents // what the sink holds for a mailbox: message ID -> folder ID
//		})
//	}
package synctest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/m365link/m365link"
	m365sync "github.com/m365link/m365link/sync"
)

// Contents reports what a sink holds for a mailbox: message ID → folder ID.
type Contents func(ctx context.Context, mb m365link.Mailbox) (map[string]string, error)

var (
	alice = m365link.Mailbox{TenantID: "6f1c4a52-0a43-4f4e-9a47-3f0c2a7d0001", UserID: "a1e5c0de-0000-4000-8000-000000000001", UPN: "alice@contoso.com"}
	bob   = m365link.Mailbox{TenantID: "6f1c4a52-0a43-4f4e-9a47-3f0c2a7d0001", UserID: "b0b5c0de-0000-4000-8000-000000000002", UPN: "bob@contoso.com"}
)

// Graph's IDs are case-sensitive base64: two folders may differ only in case.
const (
	inbox  = "AAMkAGI2TAAA-inbox_Folder+ID/with=padding=="
	inboxB = "AAMkAGI2TAAA-INBOX_Folder+ID/with=padding=="
	sent   = "AAMkAGI2TAAA-sentitems"
)

// RunStateStore checks a [m365sync.StateStore] on fresh stores from
// newStore: missing cursors and statuses are zero values, every field of a
// cursor survives a round trip, folders that differ only in case are
// distinct, mailboxes are isolated, DeleteMailbox forgets exactly one
// mailbox, concurrent writers do not corrupt each other, and, when the
// store is a [m365sync.MailboxLister], it lists the mailboxes with state.
func RunStateStore(t *testing.T, newStore func(t *testing.T) m365sync.StateStore) {
	ctx := context.Background()
	full := m365sync.Cursor{
		Link:       "https://graph.microsoft.com/v1.0/users('a1e5c0de')/mailFolders('AAMk+/=')/messages/delta()?$deltatoken=LztZwWjo5IivWBhyxw5rA%3D%3D&$select=id",
		Initial:    true,
		Generation: 7,
		Resyncing:  true,
		Since:      time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC),
		Unfiltered: true,
		Delivered:  4999,
		Resets:     []time.Time{time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 12, 30, 0, 123000000, time.UTC)},
		Pending:    []m365sync.Removal{{ID: "AAMkAGI2TG93AAA=", FolderID: inbox}, {ID: "AAMkAGI2TG94AAA=", FolderID: inbox}},
	}
	t.Run("missing", func(t *testing.T) {
		s := newStore(t)
		c, err := s.LoadCursor(ctx, alice.Key(), inbox)
		if err != nil || !equalCursor(c, m365sync.Cursor{}) {
			t.Fatalf("LoadCursor of a missing cursor = %+v, %v; want the zero Cursor, nil", c, err)
		}
		st, err := s.LoadStatus(ctx, alice.Key())
		if err != nil || !equalStatus(st, m365sync.Status{}) {
			t.Fatalf("LoadStatus of a missing status = %+v, %v; want the zero Status, nil", st, err)
		}
	})
	t.Run("cursor round trip", func(t *testing.T) {
		s := newStore(t)
		must(t, s.SaveCursor(ctx, alice.Key(), inbox, full))
		mustCursor(t, s, alice, inbox, full)
		next := m365sync.Cursor{Link: "https://graph.microsoft.com/v1.0/next", Generation: 8}
		must(t, s.SaveCursor(ctx, alice.Key(), inbox, next))
		mustCursor(t, s, alice, inbox, next)
	})
	t.Run("isolation", func(t *testing.T) {
		s := newStore(t)
		a := m365sync.Cursor{Link: "a", Generation: 1}
		b := m365sync.Cursor{Link: "b", Generation: 2}
		c := m365sync.Cursor{Link: "c", Generation: 3}
		must(t, s.SaveCursor(ctx, alice.Key(), inbox, a))
		must(t, s.SaveCursor(ctx, alice.Key(), inboxB, b))
		must(t, s.SaveCursor(ctx, bob.Key(), inbox, c))
		mustCursor(t, s, alice, inbox, a)
		mustCursor(t, s, alice, inboxB, b)
		mustCursor(t, s, bob, inbox, c)
		mustCursor(t, s, bob, inboxB, m365sync.Cursor{})
	})
	t.Run("status", func(t *testing.T) {
		s := newStore(t)
		st := m365sync.Status{Mailbox: alice, State: m365sync.StateThrottled, Pages: 4, Items: 3100, Estimate: 9000,
			ThrottledUntil: time.Date(2026, 11, 24, 12, 0, 5, 0, time.UTC), Reason: "throttled by Graph",
			LastSync: time.Date(2026, 11, 24, 11, 59, 0, 0, time.UTC), ItemErrors: 2, Folders: []string{inbox, sent}}
		must(t, s.SaveStatus(ctx, st))
		must(t, s.SaveStatus(ctx, m365sync.Status{Mailbox: bob, State: m365sync.StateIdle}))
		got, err := s.LoadStatus(ctx, alice.Key())
		must(t, err)
		if !equalStatus(got, st) {
			t.Fatalf("LoadStatus = %+v, want %+v", got, st)
		}
		st.State, st.Reason = m365sync.StateIdle, ""
		must(t, s.SaveStatus(ctx, st))
		got, err = s.LoadStatus(ctx, alice.Key())
		must(t, err)
		if !equalStatus(got, st) {
			t.Fatalf("LoadStatus after a replace = %+v, want %+v", got, st)
		}
	})
	t.Run("delete mailbox", func(t *testing.T) {
		s := newStore(t)
		must(t, s.SaveCursor(ctx, alice.Key(), inbox, full))
		must(t, s.SaveCursor(ctx, alice.Key(), sent, full))
		must(t, s.SaveStatus(ctx, m365sync.Status{Mailbox: alice, State: m365sync.StateIdle}))
		must(t, s.SaveCursor(ctx, bob.Key(), inbox, full))
		must(t, s.SaveStatus(ctx, m365sync.Status{Mailbox: bob, State: m365sync.StateIdle}))
		must(t, s.DeleteMailbox(ctx, alice.Key()))
		mustCursor(t, s, alice, inbox, m365sync.Cursor{})
		mustCursor(t, s, alice, sent, m365sync.Cursor{})
		if st, err := s.LoadStatus(ctx, alice.Key()); err != nil || !equalStatus(st, m365sync.Status{}) {
			t.Fatalf("status after DeleteMailbox = %+v, %v", st, err)
		}
		mustCursor(t, s, bob, inbox, full)
		if st, err := s.LoadStatus(ctx, bob.Key()); err != nil || st.State != m365sync.StateIdle {
			t.Fatalf("another mailbox's status after DeleteMailbox = %+v, %v", st, err)
		}
		must(t, s.DeleteMailbox(ctx, "never/seen"))
	})
	t.Run("concurrent writers", func(t *testing.T) {
		s := newStore(t)
		var wg gosync.WaitGroup
		errs := make(chan error, 64)
		for w := range 8 {
			wg.Go(func() {
				folder := fmt.Sprintf("folder-%d", w)
				for g := range 8 {
					if err := s.SaveCursor(ctx, alice.Key(), folder, m365sync.Cursor{Link: folder, Generation: int64(g + 1)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for w := range 8 {
			folder := fmt.Sprintf("folder-%d", w)
			mustCursor(t, s, alice, folder, m365sync.Cursor{Link: folder, Generation: 8})
		}
	})
	t.Run("list mailboxes", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(m365sync.MailboxLister)
		if !ok {
			t.Skip("the store is not a MailboxLister")
		}
		carol := m365link.Mailbox{TenantID: alice.TenantID, UserID: "c0c0c0de-0000-4000-8000-000000000003"}
		must(t, s.SaveCursor(ctx, alice.Key(), inbox, full))
		must(t, s.SaveStatus(ctx, m365sync.Status{Mailbox: bob, State: m365sync.StateNotMailEnabled}))
		must(t, s.SaveCursor(ctx, carol.Key(), inbox, full))
		must(t, s.DeleteMailbox(ctx, carol.Key()))
		got, err := l.ListMailboxes(ctx)
		must(t, err)
		slices.Sort(got)
		if want := []string{alice.Key(), bob.Key()}; !slices.Equal(got, want) {
			t.Fatalf("ListMailboxes = %q, want %q", got, want)
		}
	})
}

// RunLeaseStore checks a [m365sync.LeaseStore] on fresh stores from
// newStore: a held lease excludes other owners, its owner renews it,
// releasing someone else's lease does nothing, an expired lease is taken
// over, and of many concurrent contenders exactly one wins.
func RunLeaseStore(t *testing.T, newStore func(t *testing.T) m365sync.LeaseStore) {
	ctx := context.Background()
	key := alice.Key()
	acquire := func(t *testing.T, s m365sync.LeaseStore, owner string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := s.Acquire(ctx, key, owner, ttl)
		must(t, err)
		if got != want {
			t.Fatalf("Acquire by %s = %t, want %t", owner, got, want)
		}
	}
	t.Run("exclusion and renewal", func(t *testing.T) {
		s := newStore(t)
		acquire(t, s, "worker-a", time.Minute, true)
		acquire(t, s, "worker-b", time.Minute, false)
		acquire(t, s, "worker-a", time.Minute, true)
		must(t, s.Release(ctx, key, "worker-b"))
		acquire(t, s, "worker-b", time.Minute, false)
		must(t, s.Release(ctx, key, "worker-a"))
		acquire(t, s, "worker-b", time.Minute, true)
		must(t, s.Release(ctx, "never/leased", "worker-b"))
	})
	t.Run("keys are separate", func(t *testing.T) {
		s := newStore(t)
		acquire(t, s, "worker-a", time.Minute, true)
		ok, err := s.Acquire(ctx, bob.Key(), "worker-b", time.Minute)
		must(t, err)
		if !ok {
			t.Fatal("a lease on one mailbox blocked another")
		}
	})
	t.Run("expiry", func(t *testing.T) {
		s := newStore(t)
		acquire(t, s, "worker-a", 30*time.Millisecond, true)
		time.Sleep(80 * time.Millisecond)
		acquire(t, s, "worker-b", time.Minute, true)
		acquire(t, s, "worker-a", time.Minute, false)
	})
	t.Run("one winner", func(t *testing.T) {
		s := newStore(t)
		var wg gosync.WaitGroup
		var mu gosync.Mutex
		wins, fails := 0, 0
		for i := range 12 {
			wg.Go(func() {
				ok, err := s.Acquire(ctx, "contended/key", fmt.Sprintf("worker-%d", i), time.Minute)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fails++
				}
				if ok {
					wins++
				}
			})
		}
		wg.Wait()
		if wins != 1 || fails != 0 {
			t.Fatalf("%d contenders won and %d failed; want exactly one winner and no errors", wins, fails)
		}
	})
}

// RunSink checks a [m365sync.Sink] on fresh sinks from newSink: upserts by
// ID are idempotent and record the folder, a removal deletes only a
// message still in the folder that reported it (a move is an update), a
// ResetEnd deletes exactly the folder's messages of older generations
// (all of them with [m365sync.DropGeneration]), and MailboxRemoved drops
// one mailbox.
func RunSink(t *testing.T, newSink func(t *testing.T) (m365sync.Sink, Contents)) {
	ctx := context.Background()
	msg := func(id string) m365link.Message {
		return m365link.Message{ID: id, Subject: "subject " + id, From: m365link.EmailAddress{Address: "ann@acme.com"},
			ReceivedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	}
	page := func(mb m365link.Mailbox, folder string, gen int64, ids ...string) *m365sync.Page {
		p := &m365sync.Page{Mailbox: mb, Folder: m365sync.Folder{ID: folder}, Generation: gen}
		for _, id := range ids {
			m := msg(id)
			m.FolderID = folder
			p.Upserts = append(p.Upserts, m)
		}
		return p
	}
	removals := func(mb m365link.Mailbox, folder string, gen int64, ids ...string) *m365sync.Page {
		p := &m365sync.Page{Mailbox: mb, Folder: m365sync.Folder{ID: folder}, Generation: gen}
		for _, id := range ids {
			p.Removals = append(p.Removals, m365sync.Removal{ID: id, FolderID: folder})
		}
		return p
	}
	expect := func(t *testing.T, contents Contents, mb m365link.Mailbox, want map[string]string) {
		t.Helper()
		got, err := contents(ctx, mb)
		must(t, err)
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !maps.Equal(got, want) {
			t.Fatalf("the sink holds %v for %s, want %v", got, mb.UPN, want)
		}
	}
	t.Run("upserts are idempotent", func(t *testing.T) {
		s, contents := newSink(t)
		must(t, s.Apply(ctx, page(alice, inbox, 1, "m1", "m2")))
		must(t, s.Apply(ctx, page(alice, inbox, 1, "m1", "m2")))
		must(t, s.Apply(ctx, page(alice, sent, 1, "m3")))
		expect(t, contents, alice, map[string]string{"m1": inbox, "m2": inbox, "m3": sent})
	})
	t.Run("removals and moves", func(t *testing.T) {
		s, contents := newSink(t)
		must(t, s.Apply(ctx, page(alice, inbox, 1, "m1", "m2", "m3")))
		// m2 moved to Sent Items: upserted there first, then its removal
		// from the Inbox arrives and must be ignored.
		must(t, s.Apply(ctx, page(alice, sent, 1, "m2")))
		must(t, s.Apply(ctx, removals(alice, inbox, 1, "m1", "m2", "unknown")))
		expect(t, contents, alice, map[string]string{"m2": sent, "m3": inbox})
		must(t, s.Apply(ctx, removals(alice, inbox, 1, "m1")))
		expect(t, contents, alice, map[string]string{"m2": sent, "m3": inbox})
	})
	t.Run("reset tombstones", func(t *testing.T) {
		s, contents := newSink(t)
		must(t, s.Apply(ctx, page(alice, inbox, 1, "m1", "m2", "m3")))
		must(t, s.Apply(ctx, page(alice, sent, 1, "s1")))
		must(t, s.Reset(ctx, m365sync.Reset{Mailbox: alice, FolderID: inbox, Phase: m365sync.ResetBegin, Generation: 2}))
		must(t, s.Apply(ctx, page(alice, inbox, 2, "m1", "m3", "m4")))
		must(t, s.Reset(ctx, m365sync.Reset{Mailbox: alice, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: 2}))
		expect(t, contents, alice, map[string]string{"m1": inbox, "m3": inbox, "m4": inbox, "s1": sent})
		must(t, s.Reset(ctx, m365sync.Reset{Mailbox: alice, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: 2}))
		expect(t, contents, alice, map[string]string{"m1": inbox, "m3": inbox, "m4": inbox, "s1": sent})
	})
	t.Run("folder dropped", func(t *testing.T) {
		s, contents := newSink(t)
		must(t, s.Apply(ctx, page(alice, inbox, 3, "m1", "m2")))
		must(t, s.Apply(ctx, page(alice, sent, 1, "s1")))
		must(t, s.Reset(ctx, m365sync.Reset{Mailbox: alice, FolderID: inbox, Phase: m365sync.ResetEnd, Generation: m365sync.DropGeneration}))
		expect(t, contents, alice, map[string]string{"s1": sent})
	})
	t.Run("mailboxes are separate", func(t *testing.T) {
		s, contents := newSink(t)
		must(t, s.Apply(ctx, page(alice, inbox, 1, "m1")))
		must(t, s.Apply(ctx, page(bob, inbox, 1, "m1", "b1")))
		must(t, s.Apply(ctx, removals(bob, inbox, 1, "m1")))
		expect(t, contents, alice, map[string]string{"m1": inbox})
		must(t, s.MailboxRemoved(ctx, alice))
		expect(t, contents, alice, nil)
		expect(t, contents, bob, map[string]string{"b1": inbox})
		must(t, s.MailboxRemoved(ctx, alice))
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCursor(t *testing.T, s m365sync.StateStore, mb m365link.Mailbox, folder string, want m365sync.Cursor) {
	t.Helper()
	got, err := s.LoadCursor(context.Background(), mb.Key(), folder)
	must(t, err)
	if !equalCursor(got, want) {
		t.Fatalf("LoadCursor(%s, %s) = %+v, want %+v", mb.Key(), folder, got, want)
	}
}

// equalCursor compares cursors, times by instant (a store may return
// another location) and empty slices as nil.
func equalCursor(a, b m365sync.Cursor) bool {
	return a.Link == b.Link && a.Initial == b.Initial && a.Generation == b.Generation && a.Resyncing == b.Resyncing &&
		a.Since.Equal(b.Since) && a.Unfiltered == b.Unfiltered && a.Delivered == b.Delivered &&
		slices.EqualFunc(a.Resets, b.Resets, time.Time.Equal) && slices.Equal(a.Pending, b.Pending)
}

func equalStatus(a, b m365sync.Status) bool {
	return a.Mailbox == b.Mailbox && a.State == b.State && a.Pages == b.Pages && a.Items == b.Items && a.Estimate == b.Estimate &&
		a.ThrottledUntil.Equal(b.ThrottledUntil) && a.Reason == b.Reason && a.LastSync.Equal(b.LastSync) && a.ItemErrors == b.ItemErrors &&
		slices.Equal(a.Folders, b.Folders)
}
