package fakegraph

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// The change model behind delta queries.
//
// Each mailbox has one change sequence. Every add, update, move and delete
// takes the next number; the item remembers the number of its last change.
// Each container (mail folder, calendar, contact folder) keeps an append-only
// log of (seq, id) entries ordered by seq: a present entry when an item
// arrives or changes there, a tombstone when it is deleted or moves away.
// An entry is live while it is the latest word on that item in that
// container; stale entries are skipped by readers and dropped by an
// occasional compaction. A delta round reads the live entries whose seq lies
// in (from, to] with a binary search to its cursor, so a page costs
// O(page + stale entries skipped), never a re-sort of the folder.

type logEntry struct {
	seq     uint64
	id      string
	removed bool
}

type container struct {
	id, name, parentID, wellKnown string
	children                      []*container
	log                           []logEntry
	tomb                          map[string]uint64 // id -> seq of its live tombstone
	stale                         int
	total, unread                 int
}

func newContainer(id, name, parentID, wellKnown string) *container {
	return &container{id: id, name: name, parentID: parentID, wellKnown: wellKnown, tomb: map[string]uint64{}}
}

// itemState reports where an item is now and the seq of its last change.
type itemState func(id string) (containerID string, seq uint64, ok bool)

func (c *container) live(e logEntry, state itemState) bool {
	where, seq, ok := state(e.id)
	here := ok && where == c.id
	if e.removed {
		return !here && c.tomb[e.id] == e.seq
	}
	return here && seq == e.seq
}

// put records that id arrived in or changed in c at seq; wasHere says c
// already held a present entry for it.
func (c *container) put(seq uint64, id string, wasHere bool, state itemState) {
	if wasHere {
		c.stale++
	}
	if _, ok := c.tomb[id]; ok {
		delete(c.tomb, id)
		c.stale++
	}
	c.log = append(c.log, logEntry{seq: seq, id: id})
	c.maybeCompact(state)
}

// remove records that id left c (deleted or moved away) at seq.
func (c *container) remove(seq uint64, id string, state itemState) {
	c.stale++ // its present entry
	if _, ok := c.tomb[id]; ok {
		c.stale++
	}
	c.tomb[id] = seq
	c.log = append(c.log, logEntry{seq: seq, id: id, removed: true})
	c.maybeCompact(state)
}

// maybeCompact drops stale entries once they are most of the log. Cursors
// are seqs, not positions, so compaction never disturbs a round in flight.
func (c *container) maybeCompact(state itemState) {
	if c.stale < 1024 || c.stale*2 < len(c.log) {
		return
	}
	kept := c.log[:0:0]
	for _, e := range c.log {
		if c.live(e, state) {
			kept = append(kept, e)
		}
	}
	c.log, c.stale = kept, 0
}

// after returns the index of the first entry with seq > seq.
func (c *container) after(seq uint64) int {
	return sort.Search(len(c.log), func(i int) bool { return c.log[i].seq > seq })
}

type msgRec struct {
	m   Message
	seq uint64
}

// mailbox is the store of one mail-enabled user.
type mailbox struct {
	key    uint64
	userID string
	seq    uint64 // change sequence
	gen    uint64 // bumped by InvalidateDeltaTokens
	n      uint64 // item counter for IDs

	root      *container
	folders   map[string]*container
	wellKnown map[string]*container
	msgs      map[string]*msgRec

	events   *itemStore[Event, *Event]     // in calendars
	contacts *itemStore[Contact, *Contact] // in contact folders
}

func newMailbox(userID string) *mailbox {
	mb := &mailbox{
		key:       hashKey("mailbox:" + strings.ToLower(userID)),
		userID:    userID,
		folders:   map[string]*container{},
		wellKnown: map[string]*container{},
		msgs:      map[string]*msgRec{},
	}
	mb.root = newContainer(mb.nextID(kindFolder), "Top of Information Store", "", "msgfolderroot")
	mb.folders[mb.root.id] = mb.root
	mb.wellKnown["msgfolderroot"] = mb.root
	for _, wk := range wellKnownFolders {
		f := newContainer(mb.nextID(kindFolder), wk.display, mb.root.id, wk.name)
		mb.folders[f.id] = f
		mb.wellKnown[wk.name] = f
		mb.root.children = append(mb.root.children, f)
	}
	mb.events = newItemStore[Event](mb, "event", "calendar", kindEvent,
		newContainer(mb.nextID(kindCalendar), "Calendar", "", "calendar"))
	mb.contacts = newItemStore[Contact](mb, "contact", "contact folder", kindContact,
		newContainer(mb.nextID(kindFolder), "Contacts", "", "contacts"))
	return mb
}

func (mb *mailbox) nextID(kind byte) string {
	mb.n++
	return itemID(mb.key, kind, mb.n)
}

func (mb *mailbox) bump() uint64 {
	mb.seq++
	return mb.seq
}

// folder resolves a mail folder ID or well-known name.
func (mb *mailbox) folder(ref string) *container {
	if f := mb.folders[ref]; f != nil {
		return f
	}
	return mb.wellKnown[strings.ToLower(ref)]
}

func (mb *mailbox) msgState(id string) (string, uint64, bool) {
	r := mb.msgs[id]
	if r == nil {
		return "", 0, false
	}
	return r.m.ParentFolderID, r.seq, true
}

func owaLink(id, view string) string {
	return "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(id) + "&exvsurl=1&viewmodel=" + view
}

func unknown(what, id string) string {
	return fmt.Sprintf("fakegraph: unknown %s %q", what, id)
}
