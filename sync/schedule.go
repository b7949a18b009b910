package sync

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"time"

	"github.com/m365link/m365link"
)

// Run's schedule: every mailbox of the policy (and every one to remove) is
// an entry, queued by when it is next due while no job of it runs. The
// queues are heaps, one per class, so a decision costs O(log n) however
// many mailboxes there are, and the classes make it fair:
//
//   - removals first (they are rare, and end work for a mailbox);
//   - then passes asked for with Trigger (a change notification: cheap,
//     and someone is waiting for it);
//   - then first passes: a mailbox that has not had a pass yet in this Run
//     outranks every incremental pass that is due, so a new tenant of
//     5,000 mailboxes gets each one synced before any gets a second pass;
//   - then second passes, then every later one. While a first pass runs
//     (for up to firstHold), no mailbox starts its third: a new tenant's
//     every first pass ends before any mailbox gets its third.
//
// Within a class the mailbox due longest goes first.

// class is a queue of the schedule, in the order they are served.
type class int8

const (
	classRemove class = iota
	classTriggered
	classFirst
	classSecond
	classLater
	nClasses
)

// firstHold bounds how long a running first pass holds third and later
// passes back: a large mailbox's first sync does not stop the others.
const firstHold = time.Minute

// leaseRetry is the longest a mailbox whose lease another worker held
// waits before it asks again: a takeover after a worker died happens within
// LeaseTTL and a few seconds.
const leaseRetry = 5 * time.Second

// entry is one mailbox in Run's schedule; guarded by Engine.mu.
type entry struct {
	mb      m365link.Mailbox
	key     string
	due     time.Time
	class   class
	index   int // in queues[class]; -1 while not queued
	passes  int // passes that ended in this Run (cancelled ones not counted)
	dropped bool
	// again: Trigger came during a job; it runs once more at once.
	again   bool
	running context.CancelFunc
	started time.Time // of the job running
}

// queue is a min-heap of entries by due time.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	en := x.(*entry)
	en.index = len(*q)
	*q = append(*q, en)
}
func (q *queue) Pop() any {
	old := *q
	n := len(old) - 1
	en := old[n]
	old[n] = nil
	en.index = -1
	*q = old[:n]
	return en
}

// schedule is Run's state; guarded by Engine.mu.
type schedule struct {
	entries map[string]*entry
	queues  [nClasses]queue
	running map[*entry]struct{} // at most Workers
}

func newSchedule() schedule {
	return schedule{entries: map[string]*entry{}, running: map[*entry]struct{}{}}
}

// queue puts en in the queue of class c, due at due (moving it if it is
// queued elsewhere).
func (s *schedule) queue(en *entry, c class, due time.Time) {
	s.unqueue(en)
	en.class, en.due = c, due
	heap.Push(&s.queues[c], en)
}

// unqueue takes en out of its queue, if it is in one.
func (s *schedule) unqueue(en *entry) {
	if en.index >= 0 {
		heap.Remove(&s.queues[en.class], en.index)
	}
}

// passClass is the class of a mailbox's next pass by how many it had.
func passClass(passes int) class {
	switch passes {
	case 0:
		return classFirst
	case 1:
		return classSecond
	}
	return classLater
}

// held reports whether third and later passes wait at now, and until
// when at most: while a first pass started less than firstHold ago runs.
func (s *schedule) held(now time.Time) (bool, time.Time) {
	var until time.Time
	for en := range s.running {
		if en.passes == 0 && !en.dropped {
			if t := en.started.Add(firstHold); t.After(now) && (until.IsZero() || t.Before(until)) {
				until = t
			}
		}
	}
	return !until.IsZero(), until
}

// next pops the entry to run at now, nil when none is due; wake is when
// one next falls due (the zero time when nothing is queued).
func (s *schedule) next(now time.Time) (en *entry, wake time.Time) {
	held, until := s.held(now)
	for c := range nClasses {
		q := s.queues[c]
		if len(q) == 0 {
			continue
		}
		due := q[0].due
		if c == classLater && held {
			due = maxTime(due, until)
		}
		if !due.After(now) {
			return heap.Pop(&s.queues[c]).(*entry), time.Time{}
		}
		if wake.IsZero() || due.Before(wake) {
			wake = due
		}
	}
	return nil, wake
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// jitter spreads d by ±10%, so that mailboxes that started together do
// not stay in step.
func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - d/10 + rand.N(d/5+1)
}
