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

// MemorySink is a [Sink] that keeps every mailbox's messages in memory. It
// implements the sink contract exactly (generations, conditional
// removals, tombstones at the end of a resync), so it is both a reference
// for hosts writing their own and the sink tests assert against.
type MemorySink struct {
	mu    gosync.Mutex
	boxes map[string]map[string]*storedMessage
	// Counts of what was applied, for tests and debugging.
	upserts, removals, tombstones int
}

type storedMessage struct {
	msg        m365link.Message
	folder     string
	generation int64
}

var _ Sink = (*MemorySink)(nil)

// Apply implements [Sink].
func (s *MemorySink) Apply(_ context.Context, p *Page) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	box := s.box(p.Mailbox.Key())
	for _, m := range p.Upserts {
		box[m.ID] = &storedMessage{msg: m, folder: p.Folder.ID, generation: p.Generation}
		s.upserts++
	}
	for _, r := range p.Removals {
		if cur, ok := box[r.ID]; ok && cur.folder == r.FolderID {
			delete(box, r.ID)
			s.removals++
		}
	}
	return nil
}

// Reset implements [Sink]: at the end of a resync it deletes the folder's
// items not delivered again.
func (s *MemorySink) Reset(_ context.Context, r Reset) error {
	if r.Phase != ResetEnd {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	box := s.box(r.Mailbox.Key())
	for id, m := range box {
		if m.folder == r.FolderID && m.generation < r.Generation {
			delete(box, id)
			s.tombstones++
		}
	}
	return nil
}

// MailboxRemoved implements [Sink].
func (s *MemorySink) MailboxRemoved(_ context.Context, mb m365link.Mailbox) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.boxes, mb.Key())
	return nil
}

func (s *MemorySink) box(key string) map[string]*storedMessage {
	if s.boxes == nil {
		s.boxes = map[string]map[string]*storedMessage{}
	}
	b := s.boxes[key]
	if b == nil {
		b = map[string]*storedMessage{}
		s.boxes[key] = b
	}
	return b
}

// IDs returns the IDs the sink holds for a mailbox, sorted.
func (s *MemorySink) IDs(mb m365link.Mailbox) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.boxes[mb.Key()] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Message returns a stored message and the folder that holds it.
func (s *MemorySink) Message(mb m365link.Mailbox, id string) (m365link.Message, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.boxes[mb.Key()][id]
	if !ok {
		return m365link.Message{}, "", false
	}
	return m.msg, m.folder, true
}

// Mailboxes returns the keys of the mailboxes the sink holds, sorted.
func (s *MemorySink) Mailboxes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.boxes))
	for k := range s.boxes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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

// MemoryLeases is a [LeaseStore] in memory, for one process (or several
// engines in one process).
type MemoryLeases struct {
	mu     gosync.Mutex
	leases map[string]lease
	now    func() time.Time
}

type lease struct {
	owner   string
	expires time.Time
}

var _ LeaseStore = (*MemoryLeases)(nil)

// Acquire implements [LeaseStore].
func (m *MemoryLeases) Acquire(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.now != nil {
		now = m.now()
	}
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

// Counts returns how many upserts, removals and tombstones the sink applied
// (removals it ignored because the item lives in another folder not counted).
func (s *MemorySink) Counts() (upserts, removals, tombstones int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upserts, s.removals, s.tombstones
}
