package fakegraph

import (
	"strings"
	"time"
)

// mailboxItem is what an itemStore needs of its items: the fields every
// item has, and a copy that shares nothing with the original.
type mailboxItem[T any] interface {
	*T
	fields() itemFields
	clone() T
}

// itemFields points at the fields the store fills and keeps.
type itemFields struct {
	id, container, changeKey *string
	created, modified        *time.Time
}

func (e *Event) fields() itemFields {
	return itemFields{&e.ID, &e.CalendarID, &e.ChangeKey, &e.CreatedDateTime, &e.LastModifiedDateTime}
}

func (c *Contact) fields() itemFields {
	return itemFields{&c.ID, &c.ParentFolderID, &c.ChangeKey, &c.CreatedDateTime, &c.LastModifiedDateTime}
}

// record is a stored item and the seq of its last change.
type record[T any] struct {
	item T
	seq  uint64
}

// itemStore holds one kind of mailbox item with the containers it lives in:
// events in calendars, contacts in contact folders. Both are added, changed
// and deleted the same way, through it. Messages keep a store of their own
// for what only they have: folder counts, moves and the folder tree.
type itemStore[T any, P mailboxItem[T]] struct {
	mb         *mailbox
	what       string // "event", as model panics name it
	where      string // "calendar", as model panics name it
	idKind     byte
	containers map[string]*container
	primary    *container // the default one, also known by its well-known name
	items      map[string]*record[T]
}

func newItemStore[T any, P mailboxItem[T]](mb *mailbox, what, where string, idKind byte, primary *container) *itemStore[T, P] {
	return &itemStore[T, P]{
		mb: mb, what: what, where: where, idKind: idKind,
		containers: map[string]*container{primary.id: primary},
		primary:    primary,
		items:      map[string]*record[T]{},
	}
}

// ref resolves a container ID, or the primary container's well-known name.
func (st *itemStore[T, P]) ref(ref string) *container {
	if c := st.containers[ref]; c != nil {
		return c
	}
	if strings.EqualFold(ref, st.primary.wellKnown) {
		return st.primary
	}
	return nil
}

// state is the store's [itemState].
func (st *itemStore[T, P]) state(id string) (string, uint64, bool) {
	r := st.items[id]
	if r == nil {
		return "", 0, false
	}
	return *P(&r.item).fields().container, r.seq, true
}

// in lists the items held in c, in no particular order.
func (st *itemStore[T, P]) in(c *container) []*T {
	var out []*T
	for _, r := range st.items {
		if *P(&r.item).fields().container == c.id {
			out = append(out, &r.item)
		}
	}
	return out
}

// add stores x in the container it names (the primary one when it names
// none) and returns a copy. prepare, when set, first fills what only its
// kind of item has; the store then fills an empty ID, the created and
// modified times and the change key.
func (st *itemStore[T, P]) add(now func() time.Time, x T, prepare func(P)) T {
	f := P(&x).fields()
	c := st.primary
	if *f.container != "" {
		if c = st.ref(*f.container); c == nil {
			panic(unknown(st.where, *f.container))
		}
	}
	if prepare != nil {
		prepare(P(&x))
	}
	if *f.id == "" {
		*f.id = st.mb.nextID(st.idKind)
	}
	if st.items[*f.id] != nil {
		panic("fakegraph: duplicate " + st.what + " " + *f.id)
	}
	*f.container = c.id
	if f.created.IsZero() {
		*f.created = now().UTC()
	}
	if f.modified.IsZero() {
		*f.modified = *f.created
	}
	seq := st.mb.bump()
	if *f.changeKey == "" {
		*f.changeKey = changeKey(st.mb.key, seq)
	}
	st.items[*f.id] = &record[T]{item: x, seq: seq}
	c.put(seq, *f.id, false, st.state)
	return P(&x).clone()
}

// copyOf returns a copy of an item, or false when there is none.
func (st *itemStore[T, P]) copyOf(id string) (T, bool) {
	if r := st.items[id]; r != nil {
		return P(&r.item).clone(), true
	}
	var none T
	return none, false
}

func (st *itemStore[T, P]) record(id string) *record[T] {
	r := st.items[id]
	if r == nil {
		panic(unknown(st.what, id))
	}
	return r
}

// update changes an item in place as [Server.UpdateMessage] does a
// message: edit gets a copy; the ID and container stay, the change key is
// renewed and the modified time set to now unless edit set it.
func (st *itemStore[T, P]) update(now func() time.Time, id string, edit func(P)) {
	r := st.record(id)
	x := P(&r.item).clone()
	edit(P(&x))
	f, was := P(&x).fields(), P(&r.item).fields()
	*f.id, *f.container = *was.id, *was.container
	if f.modified.Equal(*was.modified) {
		*f.modified = now().UTC()
	}
	seq := st.mb.bump()
	*f.changeKey = changeKey(st.mb.key, seq)
	r.item, r.seq = x, seq
	st.containers[*f.container].put(seq, id, true, st.state)
}

// delete deletes an item for good.
func (st *itemStore[T, P]) delete(id string) {
	r := st.record(id)
	seq := st.mb.bump()
	delete(st.items, id)
	st.containers[*P(&r.item).fields().container].remove(seq, id, st.state)
}
