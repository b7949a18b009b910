package sync

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The queues are served removals first, then triggered passes, first
// passes, second passes and later ones; within a class the mailbox due
// longest goes first, and one not yet due waits whatever its class.
func TestScheduleServesClassesInOrder(t *testing.T) {
	s := newSchedule()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	add := func(name string, c class, due time.Duration) {
		en := &entry{key: name, index: -1}
		s.entries[name] = en
		s.queue(en, c, now.Add(due))
	}
	add("later-old", classLater, -time.Hour)
	add("later-new", classLater, -time.Second)
	add("second", classSecond, -time.Second)
	add("first-b", classFirst, -time.Second)
	add("first-a", classFirst, -time.Minute)
	add("first-future", classFirst, time.Second)
	add("triggered", classTriggered, 0)
	add("remove", classRemove, -time.Millisecond)
	var got []string
	for {
		en, wake := s.next(now)
		if en == nil {
			assert.Equal(t, now.Add(time.Second), wake, "woken when the next one falls due")
			break
		}
		got = append(got, en.key)
	}
	assert.Equal(t, []string{"remove", "triggered", "first-a", "first-b", "second", "later-old", "later-new"}, got)
}

// While a first pass started less than firstHold ago runs, third and later
// passes wait (second passes do not); the hold ends when it ends or after
// firstHold.
func TestScheduleHoldsThirdPassesWhileAFirstRuns(t *testing.T) {
	s := newSchedule()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	runningFirst := &entry{key: "new", index: -1, started: now.Add(-10 * time.Second)}
	s.running[runningFirst] = struct{}{}
	later := &entry{key: "old", index: -1, passes: 2}
	s.queue(later, classLater, now.Add(-time.Minute))
	en, wake := s.next(now)
	assert.Nil(t, en)
	assert.Equal(t, now.Add(50*time.Second), wake, "held until firstHold after the first pass started")
	second := &entry{key: "second", index: -1, passes: 1}
	s.queue(second, classSecond, now)
	en, _ = s.next(now)
	assert.Same(t, second, en, "a second pass is not held")

	en, _ = s.next(now.Add(50 * time.Second))
	assert.Same(t, later, en, "a first pass running longer than firstHold holds nothing back")
	s.queue(later, classLater, now.Add(-time.Minute))
	delete(s.running, runningFirst)
	en, _ = s.next(now)
	assert.Same(t, later, en, "the first pass ended")
}

// Moving a queued entry to another class (Trigger, a policy drop) takes it
// out of its old queue.
func TestScheduleRequeueMoves(t *testing.T) {
	s := newSchedule()
	now := time.Now()
	ens := make([]*entry, 100)
	for i := range ens {
		ens[i] = &entry{key: strconv.Itoa(i), index: -1}
		s.queue(ens[i], classLater, now.Add(time.Duration(i)*time.Second))
	}
	s.queue(ens[50], classTriggered, now)
	assert.Len(t, s.queues[classLater], 99)
	en, _ := s.next(now)
	assert.Same(t, ens[50], en)
	en, _ = s.next(now)
	assert.Same(t, ens[0], en)
	s.unqueue(ens[99])
	assert.Len(t, s.queues[classLater], 97)
	for i, q := range s.queues[classLater] {
		require.Equal(t, i, q.index)
	}
}

// jitter spreads a duration by ±10%.
func TestJitter(t *testing.T) {
	lo, hi := time.Hour, time.Duration(0)
	for range 10_000 {
		d := jitter(time.Minute)
		lo, hi = min(lo, d), max(hi, d)
	}
	assert.GreaterOrEqual(t, lo, 54*time.Second)
	assert.LessOrEqual(t, hi, 66*time.Second)
	assert.Less(t, lo, 55*time.Second, "spread down")
	assert.Greater(t, hi, 65*time.Second, "spread up")
	assert.Equal(t, time.Duration(5), jitter(5))
}
