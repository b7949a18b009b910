// Package keylock serialises work on one key within a process: two
// goroutines that create the same meeting or send the same message (a
// host's job picked up again while its first run is in flight, a double
// click) take turns, so the second sees what the first made. It guards one
// process only; across processes the host must not run one key twice at
// once.
package keylock

import (
	"context"
	"sync"
)

// Map holds one lock per key in use. The zero value is ready to use; a
// Map must not be copied after first use. Keys no one holds or waits for
// are dropped, so the map stays as small as the work in flight.
type Map struct {
	mu    sync.Mutex
	locks map[string]*lock
}

type lock struct {
	sem  chan struct{} // holds a token while the key is locked
	refs int           // holders and waiters
}

// Lock waits until key is free, or ctx is done, and locks it. The unlock
// function it returns must be called exactly once.
func (m *Map) Lock(ctx context.Context, key string) (unlock func(), err error) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*lock{}
	}
	l := m.locks[key]
	if l == nil {
		l = &lock{sem: make(chan struct{}, 1)}
		m.locks[key] = l
	}
	l.refs++
	m.mu.Unlock()

	select {
	case l.sem <- struct{}{}:
		return func() {
			<-l.sem
			m.release(key, l)
		}, nil
	case <-ctx.Done():
		m.release(key, l)
		return nil, ctx.Err()
	}
}

func (m *Map) release(key string, l *lock) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(m.locks, key)
	}
}
