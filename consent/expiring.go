package consent

import (
	"container/heap"
	"time"
)

// expiring is a map whose entries expire: a min-heap by expiry finds what
// to drop, so no operation scans the map. Entries removed early (taken)
// leave a stale heap entry behind; it is skipped when it surfaces, and the
// heap is rebuilt when stale entries outnumber live ones, which keeps every
// operation O(log n) amortised and the heap within twice the map.
// It is not safe for concurrent use; its owner holds a lock.
type expiring[V any] struct {
	items map[string]expItem[V]
	h     expHeap
	seq   uint64
}

type expItem[V any] struct {
	v   V
	at  time.Time
	seq uint64
}

type expEntry struct {
	at  time.Time
	key string
	seq uint64
}

type expHeap []expEntry

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expHeap) Push(x any)        { *h = append(*h, x.(expEntry)) }
func (h *expHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (e *expiring[V]) len() int { return len(e.items) }

// put adds or replaces key, expiring at at.
func (e *expiring[V]) put(key string, v V, at time.Time) {
	if e.items == nil {
		e.items = map[string]expItem[V]{}
	}
	e.seq++
	e.items[key] = expItem[V]{v: v, at: at, seq: e.seq}
	heap.Push(&e.h, expEntry{at: at, key: key, seq: e.seq})
	if len(e.h) > 2*len(e.items)+64 {
		e.rebuild()
	}
}

// get returns key's value and expiry.
func (e *expiring[V]) get(key string) (V, time.Time, bool) {
	it, ok := e.items[key]
	return it.v, it.at, ok
}

// remove forgets key and returns what it held.
func (e *expiring[V]) remove(key string) (V, time.Time, bool) {
	it, ok := e.items[key]
	if ok {
		delete(e.items, key)
	}
	return it.v, it.at, ok
}

// expire drops every entry expiring at or before now.
func (e *expiring[V]) expire(now time.Time) {
	for len(e.h) > 0 && !now.Before(e.h[0].at) {
		e.dropTop()
	}
}

// dropSoonest drops the live entry closest to expiry.
func (e *expiring[V]) dropSoonest() {
	for len(e.h) > 0 {
		if e.dropTop() {
			return
		}
	}
}

// dropTop pops the heap's top and reports whether it was a live entry.
func (e *expiring[V]) dropTop() bool {
	top := heap.Pop(&e.h).(expEntry)
	if it, ok := e.items[top.key]; ok && it.seq == top.seq {
		delete(e.items, top.key)
		return true
	}
	return false
}

func (e *expiring[V]) rebuild() {
	e.h = e.h[:0]
	for k, it := range e.items {
		e.h = append(e.h, expEntry{at: it.at, key: k, seq: it.seq})
	}
	heap.Init(&e.h)
}
