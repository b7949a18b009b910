package tokens

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
)

// Memory is a [Store] and [Lister] in process memory, for tests and
// single-process hosts that do not need tokens to survive a restart. Several
// "processes" can share one Memory to simulate a shared database. The zero
// value is ready to use.
type Memory struct {
	mu      gosync.Mutex
	entries map[Key]Entry
}

var (
	_ Store  = (*Memory)(nil)
	_ Lister = (*Memory)(nil)
)

// String counts the entries; it never prints what they hold, which, in an
// unencrypted Memory, are tokens in the clear.
func (m *Memory) String() string {
	return "tokens.Memory{entries: " + strconv.Itoa(m.len()) + "}"
}

// GoString is String, so %#v shows no token either.
func (m *Memory) GoString() string { return m.String() }

// LogValue is what slog shows: the number of entries.
func (m *Memory) LogValue() slog.Value { return slog.GroupValue(slog.Int("entries", m.len())) }

func (m *Memory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Get implements [Store].
func (m *Memory) Get(ctx context.Context, key Key) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key.normal()]
	if !ok {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return Entry{Data: slices.Clone(e.Data), Version: e.Version}, nil
}

// Put implements [Store].
func (m *Memory) Put(ctx context.Context, key Key, data []byte, prev int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key = key.normal()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[Key]Entry)
	}
	cur := m.entries[key]
	if cur.Version != prev {
		return 0, fmt.Errorf("%w: %s is at version %d, not %d", ErrConflict, key, cur.Version, prev)
	}
	m.entries[key] = Entry{Data: slices.Clone(data), Version: prev + 1}
	return prev + 1, nil
}

// Delete implements [Store].
func (m *Memory) Delete(ctx context.Context, key Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key.normal())
	return nil
}

// Keys implements [Lister], in a stable order.
func (m *Memory) Keys(ctx context.Context, tenant string) iter.Seq2[Key, error] {
	return func(yield func(Key, error) bool) {
		m.mu.Lock()
		keys := make([]Key, 0, len(m.entries))
		for k := range m.entries {
			if tenant == "" || k.Account.TenantID == strings.ToLower(tenant) {
				keys = append(keys, k)
			}
		}
		m.mu.Unlock()
		slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				yield(Key{}, err)
				return
			}
			if !yield(k, nil) {
				return
			}
		}
	}
}
