package fakegraph

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// The model methods below panic on a reference to something that does not
// exist (an unknown tenant, user, folder or item), like a failed test
// fixture should: the message names what was missing. They return copies;
// changing a returned value does not change the server.

// AddTenant adds a tenant; an empty ID is generated.
func (s *Server) AddTenant(t Tenant) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTenantLocked(t)
}

func (s *Server) addTenantLocked(t Tenant) *Tenant {
	s.fillDirectoryID(&t.ID, "tenant")
	if _, dup := s.tenantByID[strings.ToLower(t.ID)]; dup {
		panic("fakegraph: duplicate tenant " + t.ID)
	}
	t.Domains = cloneSlice(t.Domains)
	stored := t
	s.tenants = append(s.tenants, &stored)
	s.tenantByID[strings.ToLower(t.ID)] = &stored
	t.Domains = cloneSlice(t.Domains)
	return &t
}

// fillDirectoryID gives a tenant, user or group without an ID a new GUID.
func (s *Server) fillDirectoryID(id *string, kind string) {
	if *id == "" {
		s.dirN++
		*id = guid(hashKey(kind), s.dirN)
	}
}

// tenantLocked resolves a tenant ID; "" is the first tenant, created
// (Contoso, contoso.com) when there is none.
func (s *Server) tenantLocked(id string) *Tenant {
	if id == "" {
		if len(s.tenants) == 0 {
			s.addTenantLocked(Tenant{DisplayName: "Contoso", Domains: []string{"contoso.com"}})
		}
		return s.tenants[0]
	}
	t := s.tenantByID[strings.ToLower(id)]
	if t == nil {
		panic(unknown("tenant", id))
	}
	return t
}

// AddUser adds a user to a tenant ("" = the first tenant, created when there
// is none). An empty ID is generated, an empty UPN is taken from Mail or
// made from DisplayName on the tenant's first domain, and an empty Mail of a
// mail-enabled user is its UPN. A mail-enabled user gets a mailbox with the
// well-known folders (inbox, sentitems, drafts, deleteditems, archive,
// junkemail), a default calendar and a default contact folder.
func (s *Server) AddUser(tenantID string, u User) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenantID)
	u.TenantID = t.ID
	s.fillDirectoryID(&u.ID, "user")
	if u.UPN == "" {
		u.UPN = u.Mail
	}
	if u.UPN == "" {
		domain := "contoso.com"
		if len(t.Domains) > 0 {
			domain = t.Domains[0]
		}
		u.UPN = strings.ToLower(strings.Join(strings.Fields(u.DisplayName), ".")) + "@" + domain
	}
	if u.Mail == "" && u.MailEnabled {
		u.Mail = u.UPN
	}
	for _, k := range []string{u.ID, u.UPN} {
		if _, dup := s.userByKey[strings.ToLower(k)]; dup {
			panic("fakegraph: duplicate user " + k)
		}
	}
	u.DirectoryRoles = cloneSlice(u.DirectoryRoles)
	rec := &userRec{u: u}
	u.DirectoryRoles = cloneSlice(u.DirectoryRoles)
	if u.MailEnabled {
		rec.mb = newMailbox(u.ID)
	}
	s.users = append(s.users, rec)
	s.userByKey[strings.ToLower(u.ID)] = rec
	s.userByKey[strings.ToLower(u.UPN)] = rec
	return &u
}

// AddGroup adds a group; memberIDs are IDs of users or groups already added
// (nested groups are resolved by transitiveMembers).
func (s *Server) AddGroup(tenantID string, g Group, memberIDs ...string) *Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenantID)
	g.TenantID = t.ID
	s.fillDirectoryID(&g.ID, "group")
	if _, dup := s.groupByID[strings.ToLower(g.ID)]; dup {
		panic("fakegraph: duplicate group " + g.ID)
	}
	members := make([]string, 0, len(memberIDs))
	for _, id := range memberIDs {
		switch {
		case s.userByKey[strings.ToLower(id)] != nil:
			members = append(members, s.userByKey[strings.ToLower(id)].u.ID)
		case s.groupByID[strings.ToLower(id)] != nil:
			members = append(members, s.groupByID[strings.ToLower(id)].g.ID)
		default:
			panic(unknown("group member", id))
		}
	}
	rec := &groupRec{g: g, members: members}
	s.groups = append(s.groups, rec)
	s.groupByID[strings.ToLower(g.ID)] = rec
	return &g
}

// mailboxLocked resolves a user ID or UPN to its mailbox.
func (s *Server) mailboxLocked(user string) *mailbox {
	rec := s.userByKey[strings.ToLower(user)]
	if rec == nil {
		panic(unknown("user", user))
	}
	if rec.mb == nil {
		panic("fakegraph: user " + user + " is not mail-enabled")
	}
	return rec.mb
}

// AddFolder adds a mail folder under f.ParentID (a folder ID or well-known
// name; "" = the mailbox root, next to the well-known folders).
func (s *Server) AddFolder(userID string, f Folder) *Folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	parent := mb.root
	if f.ParentID != "" {
		if parent = mb.folder(f.ParentID); parent == nil {
			panic(unknown("folder", f.ParentID))
		}
	}
	if f.ID == "" {
		f.ID = mb.nextID(kindFolder)
	}
	if mb.folders[f.ID] != nil {
		panic("fakegraph: duplicate folder " + f.ID)
	}
	f.ParentID = parent.id
	c := newContainer(f.ID, f.DisplayName, parent.id, "")
	mb.folders[f.ID] = c
	parent.children = append(parent.children, c)
	f.WellKnownName = ""
	return &f
}

// FolderID returns the ID of a mailbox's mail folder named by a well-known
// name ("inbox", "msgfolderroot") or its ID, and whether there is one.
func (s *Server) FolderID(userID, folder string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.mailboxLocked(userID).folder(folder)
	if f == nil {
		return "", false
	}
	return f.id, true
}

// AddContactFolder adds a contact folder next to the default one ("contacts").
func (s *Server) AddContactFolder(userID string, f Folder) *Folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	if f.ID == "" {
		f.ID = mb.nextID(kindFolder)
	}
	if mb.contacts.containers[f.ID] != nil {
		panic("fakegraph: duplicate contact folder " + f.ID)
	}
	f.ParentID, f.WellKnownName = "", ""
	mb.contacts.containers[f.ID] = newContainer(f.ID, f.DisplayName, "", "")
	return &f
}

// AddMessage adds a message to a folder (an ID or a well-known name such as
// "inbox"). Empty generated fields are filled (see [Message]); a zero
// ReceivedDateTime is the clock's now, zero Sent/Created/LastModified
// times follow ReceivedDateTime.
func (s *Server) AddMessage(userID, folder string, m Message) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	f := mb.folder(folder)
	if f == nil {
		panic(unknown("folder", folder))
	}
	rec := s.addMessageLocked(mb, f, m)
	s.changed(mb, kindMessage, rec.m.ID, "created", scoped{f.id, "created"})
	out := rec.m.clone()
	return &out
}

func (s *Server) addMessageLocked(mb *mailbox, f *container, m Message) *msgRec {
	mb.n++
	n := mb.n
	if m.ID == "" {
		m.ID = itemID(mb.key, kindMessage, n)
	}
	if mb.msgs[m.ID] != nil {
		panic("fakegraph: duplicate message " + m.ID)
	}
	m.ParentFolderID = f.id
	if m.ReceivedDateTime.IsZero() {
		m.ReceivedDateTime = s.now().UTC().Truncate(time.Second)
	}
	if m.SentDateTime.IsZero() && !m.IsDraft {
		m.SentDateTime = m.ReceivedDateTime
	}
	if m.CreatedDateTime.IsZero() {
		m.CreatedDateTime = m.ReceivedDateTime
	}
	if m.LastModifiedDateTime.IsZero() {
		m.LastModifiedDateTime = m.CreatedDateTime
	}
	if m.Sender == (Address{}) {
		m.Sender = m.From
	}
	if m.InternetMessageID == "" {
		m.InternetMessageID = internetMessageID(mb.key, n, domainOf(m.From.Address))
	}
	if m.ConversationID == "" {
		m.ConversationID = itemID(mb.key, kindConversation, n)
	}
	if m.ConversationIndex == "" {
		m.ConversationIndex = conversationIndex(mb.key, n)
	}
	if m.Importance == "" {
		m.Importance = "normal"
	}
	if m.BodyContentType == "" {
		m.BodyContentType = "html"
	}
	seq := mb.bump()
	if m.ChangeKey == "" {
		m.ChangeKey = changeKey(mb.key, seq)
	}
	rec := &msgRec{m: m, seq: seq}
	mb.msgs[m.ID] = rec
	f.put(seq, m.ID, false, mb.msgState)
	f.total++
	if !m.IsRead {
		f.unread++
	}
	return rec
}

func (s *Server) messageLocked(userID, id string) (*mailbox, *msgRec) {
	mb := s.mailboxLocked(userID)
	rec := mb.msgs[id]
	if rec == nil {
		panic(unknown("message", id))
	}
	return mb, rec
}

// Message returns a copy of a message, or false when there is none.
func (s *Server) Message(userID, id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	if rec := mb.msgs[id]; rec != nil {
		return rec.m.clone(), true
	}
	return Message{}, false
}

// UpdateMessage changes a message in place: f gets a copy to edit. ID and
// ParentFolderID cannot change this way (see [Server.MoveMessage]); the
// change key is renewed and LastModifiedDateTime set to now unless f set
// it. The message shows up again in its folder's next delta round.
func (s *Server) UpdateMessage(userID, id string, f func(*Message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, rec := s.messageLocked(userID, id)
	m := rec.m.clone()
	f(&m)
	m.ID, m.ParentFolderID = rec.m.ID, rec.m.ParentFolderID
	if m.LastModifiedDateTime.Equal(rec.m.LastModifiedDateTime) {
		m.LastModifiedDateTime = s.now().UTC()
	}
	seq := mb.bump()
	m.ChangeKey = changeKey(mb.key, seq)
	folder := mb.folders[m.ParentFolderID]
	if rec.m.IsRead != m.IsRead {
		if m.IsRead {
			folder.unread--
		} else {
			folder.unread++
		}
	}
	rec.m, rec.seq = m, seq
	folder.put(seq, id, true, mb.msgState)
	s.changed(mb, kindMessage, id, "updated", scoped{folder.id, "updated"})
}

// MoveMessage moves a message to another folder (ID or well-known name)
// keeping its immutable ID: the source folder's next delta round reports it
// removed, the destination's reports it as new.
func (s *Server) MoveMessage(userID, id, destFolder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, rec := s.messageLocked(userID, id)
	dst := mb.folder(destFolder)
	if dst == nil {
		panic(unknown("folder", destFolder))
	}
	s.moveMessageLocked(mb, rec, dst)
}

func (s *Server) moveMessageLocked(mb *mailbox, rec *msgRec, dst *container) {
	id := rec.m.ID
	src := mb.folders[rec.m.ParentFolderID]
	if src == dst {
		return
	}
	seq := mb.bump()
	rec.m.ParentFolderID = dst.id
	rec.m.LastModifiedDateTime = s.now().UTC()
	rec.m.ChangeKey = changeKey(mb.key, seq)
	rec.seq = seq
	src.remove(seq, id, mb.msgState)
	dst.put(seq, id, false, mb.msgState)
	src.total--
	dst.total++
	if !rec.m.IsRead {
		src.unread--
		dst.unread++
	}
	s.changed(mb, kindMessage, id, "updated", scoped{src.id, "deleted"}, scoped{dst.id, "created"})
}

// DeleteMessage deletes a message for good (a hard delete: it does not go
// to Deleted Items; move it there with [Server.MoveMessage] for a soft one).
func (s *Server) DeleteMessage(userID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteMessageLocked(s.messageLocked(userID, id))
}

func (s *Server) deleteMessageLocked(mb *mailbox, rec *msgRec) {
	id := rec.m.ID
	seq := mb.bump()
	f := mb.folders[rec.m.ParentFolderID]
	delete(mb.msgs, id)
	f.remove(seq, id, mb.msgState)
	f.total--
	if !rec.m.IsRead {
		f.unread--
	}
	s.changed(mb, kindMessage, id, "deleted", scoped{f.id, "deleted"})
}

// Events and contacts share one store (see itemStore); their methods come
// in pairs.

// AddEvent adds an event to its calendar (the default one when CalendarID
// is empty). Empty ID, ICalUID, ChangeKey and, for online
// meetings, JoinURL are generated.
func (s *Server) AddEvent(userID string, e Event) *Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	out := s.addEventLocked(mb, e)
	s.changed(mb, kindEvent, out.ID, "created")
	return &out
}

// AddContact adds a contact to its folder (the default "contacts" when
// ParentFolderID is empty).
func (s *Server) AddContact(userID string, c Contact) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	out := mb.contacts.add(s.now, c, nil)
	s.changed(mb, kindContact, out.ID, "created", scoped{out.ParentFolderID, "created"})
	return &out
}

func (s *Server) addEventLocked(mb *mailbox, e Event) Event {
	return mb.events.add(s.now, e, func(e *Event) {
		// Every event takes a number, its own ID or not: ICalUID and
		// JoinURL derive from it.
		mb.n++
		n := mb.n
		if e.ID == "" {
			e.ID = itemID(mb.key, kindEvent, n)
		}
		if e.ICalUID == "" {
			e.ICalUID = "040000008200E00074C5B7101A82E00800000000" + strings.ToUpper(hex.EncodeToString(binary.BigEndian.AppendUint64(nil, splitmix64(mb.key^n))))
		}
		if e.Type == "" {
			e.Type = "singleInstance"
		}
		if e.TimeZone == "" {
			e.TimeZone = "UTC"
		}
		if e.ShowAs == "" {
			e.ShowAs = "busy"
		}
		if e.IsOnlineMeeting && e.JoinURL == "" {
			e.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + hex.EncodeToString(binary.BigEndian.AppendUint64(nil, splitmix64(n^mb.key))) + "%40thread.v2/0"
		}
	})
}

// Event returns a copy of an event, or false when there is none.
func (s *Server) Event(userID, id string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailboxLocked(userID).events.copyOf(id)
}

// Contact returns a copy of a contact, or false when there is none.
func (s *Server) Contact(userID, id string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailboxLocked(userID).contacts.copyOf(id)
}

// UpdateEvent changes an event in place, as [Server.UpdateMessage] does a
// message. Moving Start/End out of a calendarView window makes the next
// round of that view report the event removed.
func (s *Server) UpdateEvent(userID, id string, f func(*Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	mb.events.update(s.now, id, f)
	s.changed(mb, kindEvent, id, "updated")
}

// UpdateContact changes a contact in place, as [Server.UpdateMessage] does
// a message.
func (s *Server) UpdateContact(userID, id string, f func(*Contact)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	mb.contacts.update(s.now, id, f)
	s.changed(mb, kindContact, id, "updated", scoped{mb.contacts.items[id].item.ParentFolderID, "updated"})
}

// DeleteEvent deletes an event.
func (s *Server) DeleteEvent(userID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	mb.events.delete(id)
	s.changed(mb, kindEvent, id, "deleted")
}

// DeleteContact deletes a contact.
func (s *Server) DeleteContact(userID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	folder := mb.contacts.record(id).item.ParentFolderID
	mb.contacts.delete(id)
	s.changed(mb, kindContact, id, "deleted", scoped{folder, "deleted"})
}

// InvalidateDeltaTokens expires every skip and delta token handed out for
// the mailbox: following any of them answers 410 Gone with a Location
// header holding the base delta URL and an empty $deltatoken, the sync
// reset clients must recover from with a full round.
func (s *Server) InvalidateDeltaTokens(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailboxLocked(userID).gen++
}

// DeleteFolder deletes a mail folder that is not a well-known one, with
// its child folders and every message in them, for good. Requests for it
// (and delta links of it) then answer 404, as Graph does.
func (s *Server) DeleteFolder(userID, folderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(userID)
	f := mb.folders[folderID]
	if f == nil {
		panic(unknown("folder", folderID))
	}
	if f.wellKnown != "" || f == mb.root {
		panic("fakegraph: cannot delete well-known folder " + folderID)
	}
	if parent := mb.folders[f.parentID]; parent != nil {
		parent.children = slices.DeleteFunc(parent.children, func(c *container) bool { return c == f })
	}
	var drop func(c *container)
	drop = func(c *container) {
		for _, k := range c.children {
			drop(k)
		}
		for id, rec := range mb.msgs {
			if rec.m.ParentFolderID == c.id {
				delete(mb.msgs, id)
				s.changed(mb, kindMessage, id, "deleted", scoped{c.id, "deleted"})
			}
		}
		delete(mb.folders, c.id)
	}
	drop(f)
	mb.bump()
}
