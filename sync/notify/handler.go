package notify

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/m365link/m365link"
)

// Lifecycle events Graph sends.
const (
	lifecycleMissed      = "missed"
	lifecycleRemoved     = "subscriptionRemoved"
	lifecycleReauthorize = "reauthorizationRequired"
)

// persistTimeout bounds the writes before the answer: Graph wants one
// within 3 seconds and counts one over 2.9 s as slow.
const persistTimeout = 2 * time.Second

// maxFallbackLookups bounds the StateStore reads one request may cause
// for subscriptions the manager does not know yet, so that a flood of
// forged notifications cannot turn into a flood of reads.
const maxFallbackLookups = 8

// notification is one item of a notification body, change or lifecycle.
type notification struct {
	SubscriptionID string  `json:"subscriptionId"`
	ClientState    *string `json:"clientState"`
	ChangeType     string  `json:"changeType"`
	Resource       string  `json:"resource"`
	TenantID       string  `json:"tenantId"`
	LifecycleEvent string  `json:"lifecycleEvent"`
}

// errNoNotifications is a body that holds none.
var errNoNotifications = errors.New("notify: the body holds no notification")

// parseNotifications reads a notification body: {"value":[…]}, at least
// one item, each with a subscription ID.
func parseNotifications(body []byte) ([]notification, error) {
	var b struct {
		Value []notification `json:"value"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	if len(b.Value) == 0 {
		return nil, errNoNotifications
	}
	for _, n := range b.Value {
		if n.SubscriptionID == "" {
			return nil, errors.New("notify: a notification has no subscriptionId")
		}
	}
	return b.Value, nil
}

// verdict is what the handler makes of one notification.
type verdict int

const (
	accepted verdict = iota
	unknown          // no such subscription (that this manager knows)
	forged           // wrong tenant or clientState
	notReady         // unknown, and the manager has not read its records yet
)

// Handler serves both the notification and the lifecycle URL:
//
//   - A request with ?validationToken= (Graph's validation handshake) is
//     answered 200, text/plain, with the token.
//   - Any other request must be a POST of at most [MaxNotificationBytes]
//     (413 otherwise) holding notifications (400 otherwise). Each must
//     name a subscription of this manager and carry its clientState
//     (compared in constant time) and the configured tenant; the others
//     are refused. When none is genuine the answer is 403 (503 while the
//     manager has not read its records yet, so that Graph retries) and
//     nothing changes.
//   - For genuine ones it saves a pending marker under each mailbox (see
//     the package doc), then triggers the Target and answers 202, within
//     Graph's 3 seconds; when saving fails it answers 500, and Graph
//     retries. Lifecycle events: missed triggers a pass;
//     subscriptionRemoved and reauthorizationRequired are queued for
//     [Manager.Run], which recreates (then triggers) or reauthorizes; a
//     full queue answers 503.
//
// It only schedules work and never writes clientState or tokens to logs
// or answers.
func (m *Manager) Handler() http.Handler { return http.HandlerFunc(m.serve) }

func (m *Manager) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if tok, ok := validationToken(r); ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "notifications are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxNotificationBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			m.rejected.Add(1)
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "body unreadable", http.StatusBadRequest)
		return
	}
	ns, err := parseNotifications(body)
	if err != nil {
		m.rejected.Add(1)
		http.Error(w, "not a notification body", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), persistTimeout)
	defer cancel()
	status := m.accept(ctx, ns)
	if status != http.StatusAccepted {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// validationToken returns the ?validationToken= of Graph's handshake.
func validationToken(r *http.Request) (string, bool) {
	if !strings.Contains(r.URL.RawQuery, "validationToken") {
		return "", false
	}
	q := r.URL.Query()
	if !q.Has("validationToken") {
		return "", false
	}
	return q.Get("validationToken"), true
}

// accept checks the notifications, persists and schedules the genuine
// ones, and returns the status to answer.
func (m *Manager) accept(ctx context.Context, ns []notification) int {
	type job struct {
		e     entry
		sid   string
		event string
	}
	var jobs []job
	lookups, notReadySeen := 0, false
	for _, n := range ns {
		e, v := m.verify(ctx, n, &lookups)
		if v != accepted {
			m.rejected.Add(1)
			notReadySeen = notReadySeen || v == notReady
			m.log.LogAttrs(ctx, slog.LevelWarn, "notify: notification refused", slog.String("reason", [...]string{unknown: "unknown subscription", forged: "wrong clientState or tenant", notReady: "subscriptions not loaded yet"}[v]))
			continue
		}
		jobs = append(jobs, job{e: e, sid: n.SubscriptionID, event: n.LifecycleEvent})
	}
	if len(jobs) == 0 {
		if notReadySeen {
			return http.StatusServiceUnavailable
		}
		return http.StatusForbidden
	}
	// Persist first: an answer of 202 promises that a crash now loses nothing.
	now := time.Now()
	marked := map[string]bool{}
	for _, j := range jobs {
		k := j.e.mb.Key()
		if j.event == lifecycleReauthorize || marked[k] {
			continue
		}
		if err := m.savePending(ctx, k, now); err != nil {
			m.log.LogAttrs(ctx, slog.LevelError, "notify: save pending marker; Graph will retry", mbAttr(j.e.mb), slog.String("error", err.Error()))
			return http.StatusInternalServerError
		}
		marked[k] = true
	}
	for _, j := range jobs {
		if j.event == lifecycleRemoved || j.event == lifecycleReauthorize {
			select {
			case m.work <- work{e: j.e, sid: j.sid, event: j.event}:
			default:
				return http.StatusServiceUnavailable
			}
		}
	}
	m.accepted.Add(int64(len(jobs)))
	triggered := map[string]bool{}
	for _, j := range jobs {
		k := j.e.mb.Key()
		if j.event == lifecycleRemoved || j.event == lifecycleReauthorize || triggered[k] {
			continue // a removed subscription triggers once it is made again
		}
		triggered[k] = true
		m.trigger(j.e.mb)
	}
	return http.StatusAccepted
}

// verify finds the subscription a notification names and checks its
// tenant and clientState. A subscription this process does not know yet
// (made by another worker) is looked up in the StateStore under the user
// the notification's resource names, at most maxFallbackLookups times per
// request.
func (m *Manager) verify(ctx context.Context, n notification, lookups *int) (entry, verdict) {
	if n.TenantID != "" && !strings.EqualFold(n.TenantID, m.cfg.TenantID) {
		return entry{}, forged
	}
	if n.ClientState == nil {
		return entry{}, forged
	}
	m.mu.Lock()
	e, ok := m.index[n.SubscriptionID]
	ready := m.ready
	m.mu.Unlock()
	if !ok {
		user := userOf(n.Resource)
		if user == "" && n.LifecycleEvent != "" && ready {
			// A lifecycle event names no resource: a subscription another
			// worker made since this one read the records cannot be
			// looked up by user. Graph retries a 503; meanwhile the
			// records of the mailboxes this worker knows are read again.
			m.refreshIndex()
			return entry{}, notReady
		}
		if user == "" || *lookups >= maxFallbackLookups {
			if !ready {
				return entry{}, notReady
			}
			return entry{}, unknown
		}
		*lookups++
		mb := m365link.Mailbox{TenantID: m.cfg.TenantID, UserID: user}
		for _, r := range m.cfg.Resources {
			rec, err := m.loadRecord(ctx, mb.Key(), r)
			if err != nil {
				continue
			}
			// A record still Creating names no ID yet (Graph's answer to
			// the create may not have been saved): its clientState decides.
			creating := rec.ID == "" && !rec.Creating.IsZero() &&
				subtle.ConstantTimeCompare([]byte(*n.ClientState), []byte(rec.ClientState)) == 1
			if rec.ID == n.SubscriptionID || creating {
				e, ok = entry{mb: rec.Mailbox, res: r, clientState: rec.ClientState}, true
				if rec.ID != "" {
					m.remember(rec, r)
				}
				break
			}
		}
		if !ok {
			if !ready {
				return entry{}, notReady
			}
			return entry{}, unknown
		}
	}
	if e.clientState == "" || subtle.ConstantTimeCompare([]byte(*n.ClientState), []byte(e.clientState)) != 1 {
		return entry{}, forged
	}
	return e, accepted
}

// refreshIndex reads again, in the background and one refresh at a time,
// the records of every mailbox the index knows, so that subscriptions other
// workers made since are known when Graph retries.
func (m *Manager) refreshIndex() {
	if !m.refreshing.CompareAndSwap(false, true) {
		return
	}
	m.mu.Lock()
	seen := map[string]m365link.Mailbox{}
	for _, e := range m.index {
		seen[e.mb.Key()] = e.mb
	}
	m.mu.Unlock()
	go func() {
		defer m.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, mb := range seen {
			for _, r := range m.cfg.Resources {
				rec, err := m.loadRecord(ctx, mb.Key(), r)
				if err != nil || rec.ID == "" {
					continue
				}
				m.mu.Lock()
				m.index[rec.ID] = entry{mb: rec.Mailbox, res: r, clientState: rec.ClientState}
				m.mu.Unlock()
			}
		}
	}()
}
