package sinktest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// newStore: a missing record is nil, values survive a round trip exactly
// (the engine's records are JSON of a few kilobytes; a value of 64 KiB and
// bytes that are not UTF-8 are tried too), a Save replaces, keys that
// differ only in case are distinct, mailboxes are isolated, DeleteMailbox
// forgets exactly one mailbox, concurrent writers do not corrupt each
// other, and, when the store is a [m365sync.MailboxLister], it lists the
// mailboxes with state.
func RunStateStore(t *testing.T, newStore func(t *testing.T) m365sync.StateStore) {
	ctx := context.Background()
	record := []byte(`{"v":2,"mailbox":{"tenantId":"6f1c4a52"},"state":"idle","folders":["AAMk+/="]}`)
	full := []byte(`{"v":2,"link":"https://graph.microsoft.com/v1.0/users('a1e5c0de')/mailFolders('AAMk+/=')/messages/delta()?$deltatoken=LztZwWjo5IivWBhyxw5rA%3D%3D&$select=id","gen":7,"pending":[{"id":"AAMkAGI2TG93AAA=","folderId":"x"}],"note":"ünïcödé ✓"}`)
	big := []byte(strings.Repeat(`{"pending":"AAMkAGI2TG93AAA="},`, 64<<10/32))
	key := func(folder string) string { return "f:" + folder }
	t.Run("missing", func(t *testing.T) {
		s := newStore(t)
		mustLoad(t, s, alice, key(inbox), nil)
		mustLoad(t, s, alice, "", nil)
	})
	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Save(ctx, alice.Key(), "", record))
		must(t, s.Save(ctx, alice.Key(), key(inbox), full))
		mustLoad(t, s, alice, "", record)
		mustLoad(t, s, alice, key(inbox), full)
		next := []byte(`{"v":2,"link":"https://graph.microsoft.com/v1.0/next","gen":8}`)
		must(t, s.Save(ctx, alice.Key(), key(inbox), next))
		mustLoad(t, s, alice, key(inbox), next)
		must(t, s.Save(ctx, alice.Key(), key(sent), big))
		mustLoad(t, s, alice, key(sent), big)
	})
	t.Run("values are bytes", func(t *testing.T) {
		s := newStore(t)
		v := []byte{0x00, 0xff, 0xfe, '\\', '0', 0x80}
		must(t, s.Save(ctx, alice.Key(), key(inbox), v))
		mustLoad(t, s, alice, key(inbox), v)
	})
	t.Run("the caller's slice is not kept", func(t *testing.T) {
		s := newStore(t)
		v := append([]byte(nil), full...)
		must(t, s.Save(ctx, alice.Key(), key(inbox), v))
		v[0] = 'X'
		mustLoad(t, s, alice, key(inbox), full)
	})
	t.Run("isolation", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Save(ctx, alice.Key(), key(inbox), []byte(`"a"`)))
		must(t, s.Save(ctx, alice.Key(), key(inboxB), []byte(`"b"`)))
		must(t, s.Save(ctx, bob.Key(), key(inbox), []byte(`"c"`)))
		mustLoad(t, s, alice, key(inbox), []byte(`"a"`))
		mustLoad(t, s, alice, key(inboxB), []byte(`"b"`))
		mustLoad(t, s, bob, key(inbox), []byte(`"c"`))
		mustLoad(t, s, bob, key(inboxB), nil)
		mustLoad(t, s, bob, "", nil)
	})
	t.Run("delete mailbox", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Save(ctx, alice.Key(), key(inbox), full))
		must(t, s.Save(ctx, alice.Key(), key(sent), full))
		must(t, s.Save(ctx, alice.Key(), "", record))
		must(t, s.Save(ctx, bob.Key(), key(inbox), full))
		must(t, s.Save(ctx, bob.Key(), "", record))
		must(t, s.DeleteMailbox(ctx, alice.Key()))
		mustLoad(t, s, alice, key(inbox), nil)
		mustLoad(t, s, alice, key(sent), nil)
		mustLoad(t, s, alice, "", nil)
		mustLoad(t, s, bob, key(inbox), full)
		mustLoad(t, s, bob, "", record)
		must(t, s.DeleteMailbox(ctx, "never/seen"))
	})
	t.Run("concurrent writers", func(t *testing.T) {
		s := newStore(t)
		var wg gosync.WaitGroup
		errs := make(chan error, 64)
		for w := range 8 {
			wg.Go(func() {
				k := key(fmt.Sprintf("folder-%d", w))
				for g := range 8 {
					if err := s.Save(ctx, alice.Key(), k, fmt.Appendf(nil, `{"gen":%d}`, g+1)); err != nil {
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
			mustLoad(t, s, alice, key(fmt.Sprintf("folder-%d", w)), []byte(`{"gen":8}`))
		}
	})
	t.Run("list keys", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(m365sync.KeyLister)
		if !ok {
			t.Skip("the store is not a KeyLister")
		}
		must(t, s.Save(ctx, alice.Key(), key(inboxB), full))
		must(t, s.Save(ctx, alice.Key(), "", record))
		must(t, s.Save(ctx, alice.Key(), key(inbox), full))
		must(t, s.Save(ctx, bob.Key(), key(sent), full))
		got, err := l.ListKeys(ctx, alice.Key())
		must(t, err)
		slices.Sort(got)
		if want := []string{"", key(inboxB), key(inbox)}; !slices.Equal(got, want) {
			t.Fatalf("ListKeys = %q, want %q", got, want)
		}
		got, err = l.ListKeys(ctx, "never/seen")
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("ListKeys of an unknown mailbox = %q, want none", got)
		}
	})
	t.Run("list mailboxes", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(m365sync.MailboxLister)
		if !ok {
			t.Skip("the store is not a MailboxLister")
		}
		carol := m365link.Mailbox{TenantID: alice.TenantID, UserID: "c0c0c0de-0000-4000-8000-000000000003"}
		must(t, s.Save(ctx, alice.Key(), key(inbox), full))
		must(t, s.Save(ctx, bob.Key(), "", record))
		must(t, s.Save(ctx, carol.Key(), key(inbox), full))
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

// RunLeaseBalancer checks a [m365sync.LeaseBalancer] on fresh stores from
// newStore: it is a LeaseStore (RunLeaseStore's cases), Heartbeat counts
// the workers whose heartbeat has not expired and who have not left,
// Renew extends exactly the leases the owner holds (more keys than one
// statement takes included) and none another owner took over, Held lists
// the unexpired leases of every owner, and Leave releases the owner's
// leases so another takes them at once.
func RunLeaseBalancer(t *testing.T, newStore func(t *testing.T) m365sync.LeaseBalancer) {
	ctx := context.Background()
	t.Run("lease store", func(t *testing.T) {
		RunLeaseStore(t, func(t *testing.T) m365sync.LeaseStore { return newStore(t) })
	})
	acquire := func(t *testing.T, s m365sync.LeaseBalancer, key, owner string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := s.Acquire(ctx, key, owner, ttl)
		must(t, err)
		if got != want {
			t.Fatalf("Acquire %s by %s = %t, want %t", key, owner, got, want)
		}
	}
	beat := func(t *testing.T, s m365sync.LeaseBalancer, owner string, ttl time.Duration, want int) {
		t.Helper()
		got, err := s.Heartbeat(ctx, owner, ttl)
		must(t, err)
		if got != want {
			t.Fatalf("Heartbeat by %s = %d live workers, want %d", owner, got, want)
		}
	}
	type keys struct {
		keys []string
		err  error
	}
	sorted := func(k []string, err error) keys {
		k = slices.Clone(k)
		slices.Sort(k)
		return keys{k, err}
	}
	equal := func(t *testing.T, what string, got keys, want []string) {
		t.Helper()
		must(t, got.err)
		if !slices.Equal(got.keys, want) {
			t.Fatalf("%s = %q, want %q", what, got.keys, want)
		}
	}
	t.Run("heartbeats", func(t *testing.T) {
		s := newStore(t)
		beat(t, s, "worker-a", time.Minute, 1)
		beat(t, s, "worker-b", 40*time.Millisecond, 2)
		beat(t, s, "worker-a", time.Minute, 2)
		beat(t, s, "worker-c", time.Minute, 3)
		time.Sleep(100 * time.Millisecond)
		beat(t, s, "worker-a", time.Minute, 2) // b's heartbeat expired
		must(t, s.Leave(ctx, "worker-c", nil))
		beat(t, s, "worker-a", time.Minute, 1)
		beat(t, s, "worker-b", time.Minute, 2) // b is back
	})
	t.Run("renew", func(t *testing.T) {
		s := newStore(t)
		acquire(t, s, "k1", "worker-a", 50*time.Millisecond, true)
		acquire(t, s, "k2", "worker-a", 50*time.Millisecond, true)
		acquire(t, s, "k3", "worker-b", 50*time.Millisecond, true)
		equal(t, "Renew by worker-a", sorted(s.Renew(ctx, "worker-a", []string{"k1", "k2", "k3", "k4"}, time.Minute)), []string{"k1", "k2"})
		time.Sleep(100 * time.Millisecond)
		acquire(t, s, "k1", "worker-b", time.Minute, false) // renewed past its first TTL
		acquire(t, s, "k2", "worker-b", time.Minute, false)
		acquire(t, s, "k3", "worker-a", time.Minute, true) // worker-b's was not renewed
		acquire(t, s, "k4", "worker-a", time.Minute, true) // never leased: Renew did not take it
		equal(t, "Renew by worker-b", sorted(s.Renew(ctx, "worker-b", []string{"k3"}, time.Minute)), nil)
		equal(t, "Renew of nothing", sorted(s.Renew(ctx, "worker-a", nil, time.Minute)), nil)
	})
	t.Run("renew many", func(t *testing.T) {
		s := newStore(t)
		var keys []string
		for i := range 1100 {
			k := fmt.Sprintf("tenant/user-%04d", i)
			keys = append(keys, k)
			acquire(t, s, k, "worker-a", time.Minute, true)
		}
		acquire(t, s, "tenant/other", "worker-b", time.Minute, true)
		equal(t, "Renew of 1,100 keys", sorted(s.Renew(ctx, "worker-a", append(slices.Clone(keys), "tenant/other"), time.Minute)), keys)
		must(t, s.Leave(ctx, "worker-a", keys))
		equal(t, "Held after Leave", sorted(s.Held(ctx)), []string{"tenant/other"})
	})
	t.Run("held", func(t *testing.T) {
		s := newStore(t)
		equal(t, "Held of an empty store", sorted(s.Held(ctx)), nil)
		acquire(t, s, "k1", "worker-a", time.Minute, true)
		acquire(t, s, "k2", "worker-b", time.Minute, true)
		acquire(t, s, "k3", "worker-b", 30*time.Millisecond, true)
		acquire(t, s, "k4", "worker-a", time.Minute, true)
		must(t, s.Release(ctx, "k4", "worker-a"))
		time.Sleep(80 * time.Millisecond)
		equal(t, "Held", sorted(s.Held(ctx)), []string{"k1", "k2"})
	})
	t.Run("leave", func(t *testing.T) {
		s := newStore(t)
		beat(t, s, "worker-a", time.Minute, 1)
		beat(t, s, "worker-b", time.Minute, 2)
		acquire(t, s, "k1", "worker-a", time.Minute, true)
		acquire(t, s, "k2", "worker-a", time.Minute, true)
		acquire(t, s, "k3", "worker-b", time.Minute, true)
		// Leave releases the keys named that worker-a holds, not worker-b's.
		must(t, s.Leave(ctx, "worker-a", []string{"k1", "k3"}))
		equal(t, "Held after Leave", sorted(s.Held(ctx)), []string{"k2", "k3"})
		acquire(t, s, "k1", "worker-b", time.Minute, true)
		acquire(t, s, "k3", "worker-a", time.Minute, false)
		beat(t, s, "worker-b", time.Minute, 1)
		must(t, s.Leave(ctx, "never-seen", []string{"k1"}))
		acquire(t, s, "k1", "worker-a", time.Minute, false)
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

func mustLoad(t *testing.T, s m365sync.StateStore, mb m365link.Mailbox, key string, want []byte) {
	t.Helper()
	got, err := s.Load(context.Background(), mb.Key(), key)
	must(t, err)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Load(%s, %q) = %q, want %q", mb.Key(), key, got, want)
	}
}

// RunEventSink checks a [m365sync.EventSink] with the cases of [RunSink]
// (Contents reports event ID → calendar ID): the contract is the same.
func RunEventSink(t *testing.T, newSink func(t *testing.T) (m365sync.EventSink, Contents)) {
	RunSink(t, func(t *testing.T) (m365sync.Sink, Contents) {
		s, contents := newSink(t)
		return eventSink{s}, contents
	})
}

// RunContactSink checks a [m365sync.ContactSink] with the cases of
// [RunSink] (Contents reports contact ID → folder ID).
func RunContactSink(t *testing.T, newSink func(t *testing.T) (m365sync.ContactSink, Contents)) {
	RunSink(t, func(t *testing.T) (m365sync.Sink, Contents) {
		s, contents := newSink(t)
		return contactSink{s}, contents
	})
}

// eventSink runs RunSink's cases on an EventSink: each message becomes an
// event with its ID.
type eventSink struct{ s m365sync.EventSink }

func (a eventSink) Apply(ctx context.Context, p *m365sync.Page) error {
	ep := &m365sync.EventPage{Mailbox: p.Mailbox, Calendar: m365sync.Folder{ID: p.Folder.ID, Kind: m365sync.KindCalendar},
		Generation: p.Generation, Removals: p.Removals}
	for _, m := range p.Upserts {
		ep.Upserts = append(ep.Upserts, m365link.Event{ID: m.ID, Subject: m.Subject, Organizer: m.From,
			Start: m.ReceivedAt, End: m.ReceivedAt.Add(time.Hour), Type: m365link.EventSingleInstance})
	}
	return a.s.ApplyEvents(ctx, ep)
}

func (a eventSink) Reset(ctx context.Context, r m365sync.Reset) error { return a.s.ResetEvents(ctx, r) }

func (a eventSink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return a.s.MailboxRemoved(ctx, mb)
}

// contactSink runs RunSink's cases on a ContactSink.
type contactSink struct{ s m365sync.ContactSink }

func (a contactSink) Apply(ctx context.Context, p *m365sync.Page) error {
	cp := &m365sync.ContactPage{Mailbox: p.Mailbox, Folder: m365sync.Folder{ID: p.Folder.ID, Kind: m365sync.KindContacts},
		Generation: p.Generation, Removals: p.Removals}
	for _, m := range p.Upserts {
		cp.Upserts = append(cp.Upserts, m365link.Contact{ID: m.ID, FolderID: p.Folder.ID, DisplayName: m.From.Name,
			EmailAddresses: []m365link.EmailAddress{m.From}})
	}
	return a.s.ApplyContacts(ctx, cp)
}

func (a contactSink) Reset(ctx context.Context, r m365sync.Reset) error {
	return a.s.ResetContacts(ctx, r)
}

func (a contactSink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return a.s.MailboxRemoved(ctx, mb)
}
