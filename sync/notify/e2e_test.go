package notify_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/notify"
)

// signalSink is a MemorySink that says which message IDs it upserted.
type signalSink struct {
	m365sync.MemorySink
	ids chan string
}

func (s *signalSink) Apply(ctx context.Context, p *m365sync.Page) error {
	if err := s.MemorySink.Apply(ctx, p); err != nil {
		return err
	}
	for _, m := range p.Upserts {
		select {
		case s.ids <- m.ID:
		default:
		}
	}
	return nil
}

// waitFor waits until the sink upserts id, and says how long it took.
func (s *signalSink) waitFor(tb testing.TB, id string, limit time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case got := <-s.ids:
			if got == id {
				return time.Since(start)
			}
		case <-t.C:
			tb.Fatalf("message %s not in the sink after %s", id, limit)
			return 0
		}
	}
}

// engineEnv runs a sync engine over alice's mailbox, and a notify manager
// that triggers it.
type engineEnv struct {
	*env
	engine *m365sync.Engine
	sink   *signalSink
	mgr    *notify.Manager
}

// startEngine runs the engine, and the manager's Run unless reconcileOnly
// (then the test reconciles when it says).
func startEngine(tb testing.TB, interval time.Duration, reconcileOnly ...bool) *engineEnv {
	tb.Helper()
	return startEngineOn(tb, nil, interval, reconcileOnly...)
}

// startEngineOn is startEngine with a Graph client of the test's (nil:
// the tenant's).
func startEngineOn(tb testing.TB, client func(*m365linktest.Tenant) *graphclient.Client, interval time.Duration, reconcileOnly ...bool) *engineEnv {
	tb.Helper()
	e := newEnv(tb)
	gc := e.tenant.Graph()
	if client != nil {
		gc = client(e.tenant)
	}
	sink := &signalSink{ids: make(chan string, 1024)}
	engine, err := m365sync.New(m365sync.Config{
		Client: gc, TenantID: e.tenant.ID(),
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return e.tenant.AppToken() },
		Policy: m365sync.Policy{Mailboxes: []m365link.Mailbox{e.alice.Mailbox()}},
		Sink:   sink, State: e.state,
		Schedule: m365sync.Schedule{Interval: interval},
	})
	require.NoError(tb, err)
	cfg := e.config()
	cfg.Client, cfg.Target, cfg.Mailboxes = gc, engine, engine.Mailboxes
	mgr := e.manager(tb, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	engineDone, mgrDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(engineDone); _ = engine.Run(ctx) }()
	if len(reconcileOnly) > 0 && reconcileOnly[0] {
		require.NoError(tb, mgr.Reconcile(ctx))
		close(mgrDone)
	} else {
		go func() { defer close(mgrDone); _ = mgr.Run(ctx) }()
	}
	tb.Cleanup(func() {
		cancel()
		<-engineDone
		<-mgrDone
	})
	eventually(tb, "the first pass and reconciliation", func() bool {
		st, ok := engine.Status(e.alice.Mailbox().Key())
		return ok && st.State == m365sync.StateIdle && mgr.Counters().Reconciled >= 1
	})
	return &engineEnv{env: e, engine: engine, sink: sink, mgr: mgr}
}

func TestNewMailReachesTheSinkThroughANotification(t *testing.T) {
	// The engine polls hourly: only a notification can bring the message
	// in time.
	e := startEngine(t, time.Hour)
	m := e.tenant.AddMessage(e.alice.ID, "inbox", testMessage("Quote #42"))
	took := e.sink.waitFor(t, m.ID, time.Second)
	t.Logf("notification to sink: %s", took)
	got, folder, ok := e.sink.Message(e.alice.Mailbox(), m.ID)
	require.True(t, ok)
	assert.Equal(t, "Quote #42", got.Subject)
	inbox := e.tenant.FolderID(e.alice.ID, "inbox")
	assert.Equal(t, inbox, folder)
	assert.GreaterOrEqual(t, e.mgr.Counters().Accepted, int64(1))
}

func TestPollingDeliversWhenNotificationsAreLost(t *testing.T) {
	e := startEngine(t, 300*time.Millisecond)
	e.tenant.SetNotificationFaults(m365linktest.NotificationFaults{Drop: true})
	m := e.tenant.AddMessage(e.alice.ID, "inbox", testMessage("dropped notification"))
	e.sink.waitFor(t, m.ID, 5*time.Second)
	assert.Equal(t, int64(0), e.mgr.Counters().Accepted, "no notification arrived")
	assert.True(t, slices.Contains(e.sink.IDs(e.alice.Mailbox()), m.ID))
}

// BenchmarkNotificationToSink measures the time from a message arriving
// in Graph to the sink holding it, through the notification, the
// handler, the engine's trigger and a delta pass (the engine polls
// hourly, so nothing else brings it). Allocations count the fake Graph's
// too. The client's per-mailbox budget is lifted: with the default one
// (9,500 requests per 10 minutes, bursts of 500) a mailbox changing every
// millisecond is paced to a pass every 100 ms or so after its burst, as
// Outlook's limit demands, and the benchmark would measure that.
func BenchmarkNotificationToSink(b *testing.B) {
	e := startEngineOn(b, func(t *m365linktest.Tenant) *graphclient.Client {
		gc, err := graphclient.New(graphclient.Config{Cloud: t.Cloud(), HTTPClient: t.HTTPClient(),
			Limits: graphclient.Limits{Requests: 1 << 30, Burst: 1 << 30}})
		require.NoError(b, err)
		return gc
	}, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		m := e.tenant.AddMessage(e.alice.ID, "inbox", testMessage("bench"))
		e.sink.waitFor(b, m.ID, 5*time.Second)
	}
}

// A worker that answered 202 and crashed before its pass leaves the
// pending marker: the next reconciliation triggers the engine until a pass
// has finished after the marker, then clears it.
func TestPendingMarkerIsConsumedByAPass(t *testing.T) {
	e := startEngine(t, time.Hour, true)
	ctx := context.Background()
	key := e.alice.Mailbox().Key()
	st, err := e.engine.LoadStatus(ctx, key)
	require.NoError(t, err)
	at := st.LastSync.Add(time.Millisecond) // a notification after the last pass
	require.NoError(t, e.state.Save(ctx, key, "n:pending", []byte(`{"v":1,"at":"`+at.Format(time.RFC3339Nano)+`"}`)))
	triggered := e.mgr.Counters().Triggered

	require.NoError(t, e.mgr.Reconcile(ctx))
	assert.Equal(t, triggered+1, e.mgr.Counters().Triggered, "no pass covers it yet: triggered")
	eventually(t, "the pass", func() bool {
		st, err := e.engine.LoadStatus(ctx, key)
		return err == nil && st.LastSync.After(at)
	})
	require.NoError(t, e.mgr.Reconcile(ctx))
	assert.Equal(t, triggered+1, e.mgr.Counters().Triggered, "covered: not triggered again")
	b, err := e.state.Load(ctx, key, "n:pending")
	require.NoError(t, err)
	assert.Empty(t, b)
}

// Ten messages arriving at once, each notified, make one trigger: the
// manager gathers a mailbox's notifications for Coalesce before it asks
// the engine for a pass.
func TestABurstOfNotificationsTriggersOnce(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Coalesce = 300 * time.Millisecond
	mgr := e.manager(t, cfg)
	require.NoError(t, mgr.Reconcile(context.Background()))
	for i := range 10 {
		e.tenant.AddMessage(e.alice.ID, "inbox", testMessage(fmt.Sprint("burst ", i)))
	}
	require.NoError(t, e.tenant.FlushNotifications(context.Background()))
	eventually(t, "ten notifications", func() bool { return mgr.Counters().Accepted >= 10 })
	eventually(t, "the trigger", func() bool { return e.target.counts()[e.alice.Mailbox().Key()] == 1 })
	time.Sleep(2 * cfg.Coalesce)
	assert.Equal(t, map[string]int{e.alice.Mailbox().Key(): 1}, e.target.counts())
	assert.Equal(t, int64(10), mgr.Counters().Accepted)
	assert.Equal(t, int64(1), mgr.Counters().Triggered)
}

// eventSink is a MemorySink that says which event IDs it upserted.
type eventSink struct {
	m365sync.MemorySink
	ids chan string
}

func (s *eventSink) ApplyEvents(ctx context.Context, p *m365sync.EventPage) error {
	if err := s.MemorySink.ApplyEvents(ctx, p); err != nil {
		return err
	}
	for _, ev := range p.Upserts {
		select {
		case s.ids <- ev.ID:
		default:
		}
	}
	return nil
}

// A new meeting reaches the calendar sink through a notification on the
// events resource, with the engine polling only hourly.
func TestNewEventReachesTheSinkThroughANotification(t *testing.T) {
	e := newEnv(t)
	sink := &eventSink{ids: make(chan string, 64)}
	engine, err := m365sync.New(m365sync.Config{
		Client: e.tenant.Graph(), TenantID: e.tenant.ID(),
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return e.tenant.AppToken() },
		Policy:   m365sync.Policy{Mailboxes: []m365link.Mailbox{e.alice.Mailbox()}},
		Calendar: m365sync.CalendarOptions{Sink: sink}, State: e.state,
		Schedule: m365sync.Schedule{Interval: time.Hour},
	})
	require.NoError(t, err)
	cfg := e.config()
	cfg.Target, cfg.Mailboxes, cfg.Resources, cfg.Coalesce = engine, engine.Mailboxes, []notify.Resource{notify.Events}, 0
	mgr := e.manager(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = engine.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the first pass", func() bool {
		st, ok := engine.Status(e.alice.Mailbox().Key())
		return ok && st.State == m365sync.StateIdle
	})
	require.NoError(t, mgr.Reconcile(ctx))

	start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour)
	ev := e.tenant.AddEvent(e.alice.ID, m365link.Event{Subject: "Supplier visit", Start: start, End: start.Add(time.Hour)})
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for {
		select {
		case id := <-sink.ids:
			if id != ev.ID {
				continue
			}
			got, _, ok := sink.Event(e.alice.Mailbox(), ev.ID)
			require.True(t, ok)
			assert.Equal(t, "Supplier visit", got.Subject)
			assert.Equal(t, start, got.Start)
			return
		case <-timer.C:
			t.Fatal("the event did not reach the sink within a second")
		}
	}
}
