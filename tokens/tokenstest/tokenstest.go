package tokenstest

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// Run checks the store contract on fresh stores from newStore: not found,
// compare-and-swap on create and update, version sequence, case-insensitive
// keys, isolation between accounts and purposes, delete, listing (when the
// store implements [tokens.Lister]), and that exactly one of many concurrent
// writers of the same version wins.
func Run(t *testing.T, newStore func(t *testing.T) tokens.Store) {
	ctx := context.Background()
	alice := tokens.Key{Account: m365link.Account{TenantID: "tenant-1", UserID: "alice"}, Purpose: tokens.PurposeMSAL}
	bob := tokens.Key{Account: m365link.Account{TenantID: "tenant-1", UserID: "bob"}, Purpose: tokens.PurposeMSAL}
	app := tokens.Key{Account: m365link.Account{TenantID: "tenant-2"}, Purpose: tokens.PurposeMSAL}
	aliceOAuth := tokens.Key{Account: alice.Account, Purpose: tokens.PurposeOAuth2}

	t.Run("get missing", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, alice); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("Get of a missing key = %v, want ErrNotFound", err)
		}
	})
	t.Run("create, update, conflict", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, alice, "v1", 0, 1)
		if _, err := s.Put(ctx, alice, []byte("again"), 0); !errors.Is(err, tokens.ErrConflict) {
			t.Fatalf("second create = %v, want ErrConflict", err)
		}
		mustPut(t, s, alice, "v2", 1, 2)
		if _, err := s.Put(ctx, alice, []byte("stale"), 1); !errors.Is(err, tokens.ErrConflict) {
			t.Fatalf("update from a stale version = %v, want ErrConflict", err)
		}
		if _, err := s.Put(ctx, alice, []byte("future"), 7); !errors.Is(err, tokens.ErrConflict) {
			t.Fatalf("update from a version never written = %v, want ErrConflict", err)
		}
		mustGet(t, s, alice, "v2", 2)
	})
	t.Run("binary data", func(t *testing.T) {
		s := newStore(t)
		data := make([]byte, 70000)
		for i := range data {
			data[i] = byte(i * 7)
		}
		if _, err := s.Put(ctx, alice, data, 0); err != nil {
			t.Fatal(err)
		}
		e, err := s.Get(ctx, alice)
		if err != nil || string(e.Data) != string(data) {
			t.Fatalf("binary round trip failed: %v", err)
		}
	})
	t.Run("keys are isolated and case-insensitive", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, alice, "alice", 0, 1)
		mustPut(t, s, bob, "bob", 0, 1)
		mustPut(t, s, app, "app", 0, 1)
		mustPut(t, s, aliceOAuth, "alice-oauth", 0, 1)
		upper := tokens.Key{Account: m365link.Account{TenantID: "TENANT-1", UserID: "ALICE"}, Purpose: tokens.PurposeMSAL}
		mustGet(t, s, upper, "alice", 1)
		mustGet(t, s, bob, "bob", 1)
		mustGet(t, s, app, "app", 1)
		mustGet(t, s, aliceOAuth, "alice-oauth", 1)
	})
	t.Run("delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, alice, "x", 0, 1)
		if err := s.Delete(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, alice); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, alice); err != nil {
			t.Fatalf("deleting a missing key = %v, want nil", err)
		}
		mustPut(t, s, alice, "fresh", 0, 1)
	})
	t.Run("list", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(tokens.Lister)
		if !ok {
			t.Skip("the store does not implement tokens.Lister")
		}
		mustPut(t, s, alice, "a", 0, 1)
		mustPut(t, s, bob, "b", 0, 1)
		mustPut(t, s, app, "c", 0, 1)
		got := map[string]bool{}
		for k, err := range l.Keys(ctx, "Tenant-1") {
			if err != nil {
				t.Fatal(err)
			}
			got[k.String()] = true
		}
		want := map[string]bool{alice.String(): true, bob.String(): true}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Keys(tenant-1) = %v, want %v", got, want)
		}
		n := 0
		for _, err := range l.Keys(ctx, "") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("Keys(\"\") gave %d keys, want 3", n)
		}
	})
	t.Run("one winner among concurrent writers", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, alice, "v1", 0, 1)
		const writers = 16
		var wg gosync.WaitGroup
		var mu gosync.Mutex
		wins, conflicts := 0, 0
		for i := range writers {
			wg.Go(func() {
				_, err := s.Put(ctx, alice, []byte(fmt.Sprintf("w%d", i)), 1)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, tokens.ErrConflict):
					conflicts++
				default:
					t.Errorf("Put: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || conflicts != writers-1 {
			t.Fatalf("%d wins and %d conflicts, want 1 and %d", wins, conflicts, writers-1)
		}
		e, err := s.Get(ctx, alice)
		if err != nil || e.Version != 2 {
			t.Fatalf("after the race: version %d, err %v; want 2", e.Version, err)
		}
	})
}

func mustPut(t *testing.T, s tokens.Store, k tokens.Key, data string, prev, want int64) {
	t.Helper()
	v, err := s.Put(context.Background(), k, []byte(data), prev)
	if err != nil {
		t.Fatalf("Put(%s, prev %d): %v", k, prev, err)
	}
	if v != want {
		t.Fatalf("Put(%s, prev %d) = version %d, want %d", k, prev, v, want)
	}
}

func mustGet(t *testing.T, s tokens.Store, k tokens.Key, data string, version int64) {
	t.Helper()
	e, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatalf("Get(%s): %v", k, err)
	}
	if string(e.Data) != data || e.Version != version {
		t.Fatalf("Get(%s) = %q v%d, want %q v%d", k, e.Data, e.Version, data, version)
	}
}
