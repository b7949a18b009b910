package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	gosync "sync"
	"testing"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	m365sync "github.com/m365link/m365link/sync"
)

type countingTarget struct {
	mu gosync.Mutex
	n  map[string]int
}

func (c *countingTarget) Trigger(mb m365link.Mailbox) {
	c.mu.Lock()
	c.n[mb.Key()]++
	c.mu.Unlock()
}

const (
	fuzzTenant = "8b5a3f4e-1c2d-4e6f-9a0b-1c2d3e4f5a6b"
	fuzzSub    = "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"
	fuzzSecret = "m365n1.secret-of-the-one-known-subscription"
)

// FuzzNotifications feeds arbitrary bodies to the parser and the checks
// behind the handler. Properties: nothing panics; a body is accepted only
// when it holds a notification of the one known subscription with its
// exact clientState and no foreign tenant, and then only that
// subscription's mailbox is triggered, once per such notification; a
// refused body triggers and saves nothing.
func FuzzNotifications(f *testing.F) {
	good := func(cs, tenant string) string {
		b, _ := json.Marshal(map[string]any{"value": []map[string]any{{"subscriptionId": fuzzSub, "clientState": cs, "tenantId": tenant,
			"changeType": "created", "resource": "Users/u1/Messages/m1"}}})
		return string(b)
	}
	for _, seed := range []string{
		good(fuzzSecret, fuzzTenant), good(fuzzSecret, ""), good(fuzzSecret+"x", fuzzTenant), good("", fuzzTenant),
		good(fuzzSecret, "other"), `{"value":[]}`, `{"value":[{"subscriptionId":"` + fuzzSub + `"}]}`, `null`, `{"value":null}`,
		`{"value":[{"subscriptionId":"` + fuzzSub + `","clientState":"` + fuzzSecret + `","lifecycleEvent":"missed"}]}`,
		`{"value":[{"subscriptionId":"x","clientState":"y","resource":"Users/u1/Messages/m1"},{"subscriptionId":"` + fuzzSub + `","clientState":"` + fuzzSecret + `"}]}`,
	} {
		f.Add([]byte(seed))
	}
	mb := m365link.Mailbox{TenantID: fuzzTenant, UserID: "u1"}
	f.Fuzz(func(t *testing.T, body []byte) {
		ns, err := parseNotifications(body)
		if err != nil {
			if ns != nil {
				t.Fatalf("an error with notifications")
			}
			return
		}
		target := &countingTarget{n: map[string]int{}}
		state := &m365sync.MemoryState{}
		m, err := New(Config{TenantID: fuzzTenant, Coalesce: -1, Tokens: func(m365link.Mailbox) graphclient.TokenSource { return nil },
			NotificationURL: "https://app.example/notify", Target: target, State: state,
			Mailboxes: func(context.Context) ([]m365link.Mailbox, error) { return nil, nil }})
		if err != nil {
			t.Fatal(err)
		}
		m.index[fuzzSub] = entry{mb: mb, res: Mail, clientState: fuzzSecret}
		m.ready = true
		genuine, changes := 0, 0
		for _, n := range ns {
			if n.SubscriptionID == fuzzSub && n.ClientState != nil && *n.ClientState == fuzzSecret && (n.TenantID == "" || strings.EqualFold(n.TenantID, fuzzTenant)) {
				genuine++
				if n.LifecycleEvent != lifecycleRemoved && n.LifecycleEvent != lifecycleReauthorize {
					changes++
				}
			}
		}
		status := m.accept(context.Background(), ns)
		keys, _ := state.ListMailboxes(context.Background())
		switch {
		case genuine == 0:
			if status == http.StatusAccepted || len(target.n) != 0 || len(keys) != 0 {
				t.Fatalf("forged body: status %d, triggers %v, state %v", status, target.n, keys)
			}
		case status != http.StatusAccepted:
			t.Fatalf("genuine notifications refused: %d", status)
		default:
			for k := range target.n {
				if k != mb.Key() {
					t.Fatalf("triggered %s", k)
				}
			}
			if want := min(changes, 1); target.n[mb.Key()] != want {
				t.Fatalf("triggered %d times, want %d", target.n[mb.Key()], want)
			}
			if m.accepted.Load() != int64(genuine) {
				t.Fatalf("accepted %d of %d", m.accepted.Load(), genuine)
			}
		}
	})
}
