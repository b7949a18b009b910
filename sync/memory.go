package sync

import (
	"context"
	"maps"
	"slices"
	"sort"
	gosync "sync"
	"time"

	"github.com/m365link/m365link"
)

// MemorySink is a [Sink], an [EventSink] and a [ContactSink] that keeps
// every mailbox's messages, events and contacts in memory. It implements
// the sink contract exactly (generations, conditional removals, tombstones
// at the end of a resync), so it is both a reference for hosts writing
// their own and the sink tests assert against. The zero value is ready.
type MemorySink struct {
	mu       gosync.Mutex
	boxes    map[string]map[string]*stored[m365link.Message]
	events   map[string]map[string]*stored[m365link.Event]
	contacts map[string]map[string]*stored[m365link.Contact]
	// Counts of what was applied, for tests and debugging.
	upserts, removals, tombstones int
}

type stored[T any] struct {
	item       T
	folder     string
	generation int64
}

var (
	_ Sink        = (*MemorySink)(nil)
	_ EventSink   = (*MemorySink)(nil)
	_ ContactSink = (*MemorySink)(nil)
)

// applyTo upserts items (id gives each one's ID) into box under folder and
// generation, then removes each removal's ID that box holds in the
// removal's folder.
func applyTo[T any](s *MemorySink, box map[string]*stored[T], folder string, gen int64, items []T, id func(*T) string, rs []Removal) {
	for i := range items {
		box[id(&items[i])] = &stored[T]{item: items[i], folder: folder, generation: gen}
		s.upserts++
	}
	for _, r := range rs {
		if cur, ok := box[r.ID]; ok && cur.folder == r.FolderID {
			delete(box, r.ID)
			s.removals++
		}
	}
}

// sweep deletes at the end of a resync the folder's items of older
// generations.
func sweep[T any](s *MemorySink, box map[string]*stored[T], r Reset) {
	if r.Phase != ResetEnd {
		return
	}
	for id, m := range box {
		if m.folder == r.FolderID && m.generation < r.Generation {
			delete(box, id)
			s.tombstones++
		}
	}
}

func boxOf[T any](boxes *map[string]map[string]*stored[T], key string) map[string]*stored[T] {
	if *boxes == nil {
		*boxes = map[string]map[string]*stored[T]{}
	}
	b := (*boxes)[key]
	if b == nil {
		b = map[string]*stored[T]{}
		(*boxes)[key] = b
	}
	return b
}

func sortedIDs[T any](box map[string]*stored[T]) []string {
	out := make([]string, 0, len(box))
	for id := range box {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Apply implements [Sink].
func (s *MemorySink) Apply(_ context.Context, p *Page) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	applyTo(s, boxOf(&s.boxes, p.Mailbox.Key()), p.Folder.ID, p.Generation, p.Upserts, func(m *m365link.Message) string { return m.ID }, p.Removals)
	return nil
}

// Reset implements [Sink]: at the end of a resync it deletes the folder's
// items not delivered again.
func (s *MemorySink) Reset(_ context.Context, r Reset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sweep(s, boxOf(&s.boxes, r.Mailbox.Key()), r)
	return nil
}

// ApplyEvents implements [EventSink].
func (s *MemorySink) ApplyEvents(_ context.Context, p *EventPage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	applyTo(s, boxOf(&s.events, p.Mailbox.Key()), p.Calendar.ID, p.Generation, p.Upserts, func(e *m365link.Event) string { return e.ID }, p.Removals)
	return nil
}

// ResetEvents implements [EventSink].
func (s *MemorySink) ResetEvents(_ context.Context, r Reset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sweep(s, boxOf(&s.events, r.Mailbox.Key()), r)
	return nil
}

// ApplyContacts implements [ContactSink].
func (s *MemorySink) ApplyContacts(_ context.Context, p *ContactPage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	applyTo(s, boxOf(&s.contacts, p.Mailbox.Key()), p.Folder.ID, p.Generation, p.Upserts, func(c *m365link.Contact) string { return c.ID }, p.Removals)
	return nil
}

// ResetContacts implements [ContactSink].
func (s *MemorySink) ResetContacts(_ context.Context, r Reset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sweep(s, boxOf(&s.contacts, r.Mailbox.Key()), r)
	return nil
}

// MailboxRemoved implements [Sink], [EventSink] and [ContactSink]: it
// drops everything the sink holds of mb.
func (s *MemorySink) MailboxRemoved(_ context.Context, mb m365link.Mailbox) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.boxes, mb.Key())
	delete(s.events, mb.Key())
	delete(s.contacts, mb.Key())
	return nil
}

// IDs returns the IDs of the messages the sink holds for a mailbox, sorted.
func (s *MemorySink) IDs(mb m365link.Mailbox) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedIDs(s.boxes[mb.Key()])
}

// Message returns a stored message and the folder that holds it.
func (s *MemorySink) Message(mb m365link.Mailbox, id string) (m365link.Message, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.boxes[mb.Key()][id]
	if !ok {
		return m365link.Message{}, "", false
	}
	return m.item, m.folder, true
}

// EventIDs returns the IDs of the events the sink holds for a mailbox, sorted.
func (s *MemorySink) EventIDs(mb m365link.Mailbox) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedIDs(s.events[mb.Key()])
}

// Event returns a stored event and the calendar that holds it.
func (s *MemorySink) Event(mb m365link.Mailbox, id string) (m365link.Event, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.events[mb.Key()][id]
	if !ok {
		return m365link.Event{}, "", false
	}
	return e.item, e.folder, true
}

// ContactIDs returns the IDs of the contacts the sink holds for a mailbox, sorted.
func (s *MemorySink) ContactIDs(mb m365link.Mailbox) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedIDs(s.contacts[mb.Key()])
}

// Contact returns a stored contact and the folder that holds it.
func (s *MemorySink) Contact(mb m365link.Mailbox, id string) (m365link.Contact, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[mb.Key()][id]
	if !ok {
		return m365link.Contact{}, "", false
	}
	return c.item, c.folder, true
}

// Mailboxes returns the keys of the mailboxes the sink holds anything of,
// sorted.
func (s *MemorySink) Mailboxes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	for k := range s.boxes {
		set[k] = true
	}
	for k := range s.events {
		set[k] = true
	}
	for k := range s.contacts {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// MemoryState is a [StateStore] in memory, for one process. The zero
// value is ready to use.
type MemoryState struct {
	mu      gosync.Mutex
	records map[string]map[string][]byte // mailbox -> key -> value
}

var (
	_ StateStore    = (*MemoryState)(nil)
	_ MailboxLister = (*MemoryState)(nil)
	_ KeyLister     = (*MemoryState)(nil)
)

// ListKeys implements [KeyLister].
func (m *MemoryState) ListKeys(_ context.Context, mailbox string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.records[mailbox])), nil
}

// ListMailboxes implements [MailboxLister].
func (m *MemoryState) ListMailboxes(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.records)), nil
}

// Load implements [StateStore].
func (m *MemoryState) Load(_ context.Context, mailbox, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.records[mailbox][key]), nil
}

// Save implements [StateStore].
func (m *MemoryState) Save(_ context.Context, mailbox, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = map[string]map[string][]byte{}
	}
	if m.records[mailbox] == nil {
		m.records[mailbox] = map[string][]byte{}
	}
	m.records[mailbox][key] = slices.Clone(value)
	return nil
}

// DeleteMailbox implements [StateStore].
func (m *MemoryState) DeleteMailbox(_ context.Context, mailbox string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, mailbox)
	return nil
}

// MemoryLeases is a [LeaseStore] and [LeaseBalancer] in memory, for one
// process (or several engines in one process). The zero value is ready.
type MemoryLeases struct {
	mu      gosync.Mutex
	leases  map[string]lease
	workers map[string]time.Time // owner -> heartbeat's expiry
	now     func() time.Time
}

type lease struct {
	owner   string
	expires time.Time
}

var (
	_ LeaseStore    = (*MemoryLeases)(nil)
	_ LeaseBalancer = (*MemoryLeases)(nil)
)

func (m *MemoryLeases) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// Acquire implements [LeaseStore].
func (m *MemoryLeases) Acquire(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	if m.leases == nil {
		m.leases = map[string]lease{}
	}
	if l, ok := m.leases[key]; ok && l.owner != owner && now.Before(l.expires) {
		return false, nil
	}
	m.leases[key] = lease{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

// Release implements [LeaseStore].
func (m *MemoryLeases) Release(_ context.Context, key, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[key]; ok && l.owner == owner {
		delete(m.leases, key)
	}
	return nil
}

// Heartbeat implements [LeaseBalancer].
func (m *MemoryLeases) Heartbeat(_ context.Context, owner string, ttl time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	if m.workers == nil {
		m.workers = map[string]time.Time{}
	}
	m.workers[owner] = now.Add(ttl)
	live := 0
	for w, expires := range m.workers {
		if !now.Before(expires) {
			delete(m.workers, w)
		} else {
			live++
		}
	}
	return live, nil
}

// Renew implements [LeaseBalancer].
func (m *MemoryLeases) Renew(_ context.Context, owner string, keys []string, ttl time.Duration) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	expires := m.clock().Add(ttl)
	var held []string
	for _, k := range keys {
		if l, ok := m.leases[k]; ok && l.owner == owner {
			m.leases[k] = lease{owner: owner, expires: expires}
			held = append(held, k)
		}
	}
	return held, nil
}

// Held implements [LeaseBalancer].
func (m *MemoryLeases) Held(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	var out []string
	for k, l := range m.leases {
		if now.Before(l.expires) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Leave implements [LeaseBalancer].
func (m *MemoryLeases) Leave(_ context.Context, owner string, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.workers, owner)
	for _, k := range keys {
		if l, ok := m.leases[k]; ok && l.owner == owner {
			delete(m.leases, k)
		}
	}
	return nil
}

// Counts returns how many upserts, removals and tombstones the sink applied
// (removals it ignored because the item lives in another folder not counted).
func (s *MemorySink) Counts() (upserts, removals, tombstones int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upserts, s.removals, s.tombstones
}
