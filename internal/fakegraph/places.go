package fakegraph

import (
	"net/http"
	"strconv"
	"strings"
)

// Places, as Graph serves them (GRAPH.md, Places): GET
// /places/microsoft.graph.room and /places/microsoft.graph.roomlist list a
// tenant's rooms and room lists, GET
// /places/{room list address}/microsoft.graph.roomlist/rooms the rooms of
// one list (by its address, not its ID), in pages of $top (default 100)
// with $skip. Rooms hidden from the address list are left out.

// RoomList is a room list (a distribution group of rooms).
type RoomList struct {
	ID           string
	TenantID     string // set by [Server.AddRoomList]
	DisplayName  string
	EmailAddress string
}

// Room is a room: a resource mailbox that can be booked.
type Room struct {
	ID           string
	TenantID     string // set by [Server.AddRoom]
	DisplayName  string
	EmailAddress string
	Capacity     int
	Building     string
	FloorLabel   string
	FloorNumber  int
	// RoomList is the address of the list that holds the room, "" for none.
	RoomList               string
	IsWheelChairAccessible bool
	// Hidden rooms are hidden from the address list: the places API skips them.
	Hidden bool
}

// AddRoomList adds a room list to a tenant ("" = the first); an empty ID is
// generated.
func (s *Server) AddRoomList(tenantID string, l RoomList) *RoomList {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.TenantID = s.tenantLocked(tenantID).ID
	s.fillDirectoryID(&l.ID, "roomList")
	stored := l
	s.cal.lists = append(s.cal.lists, &stored)
	return &l
}

// AddRoom adds a room to a tenant ("" = the first) with its mailbox (a
// mail-enabled user named by EmailAddress, so getSchedule and
// [Server.AddEvent] reach it). An empty ID is generated. Its RoomList, if
// set, must have been added.
func (s *Server) AddRoom(tenantID string, r Room) *Room {
	s.mu.Lock()
	if r.RoomList != "" && s.roomListLocked(r.RoomList) == nil {
		s.mu.Unlock()
		panic(unknown("room list", r.RoomList))
	}
	s.mu.Unlock()
	u := s.AddUser(tenantID, User{DisplayName: r.DisplayName, Mail: r.EmailAddress, MailEnabled: true, AccountEnabled: false})
	s.mu.Lock()
	defer s.mu.Unlock()
	r.TenantID = u.TenantID
	if r.ID == "" {
		r.ID = u.ID
	}
	stored := r
	s.cal.rooms = append(s.cal.rooms, &stored)
	return &r
}

func (s *Server) roomListLocked(addr string) *RoomList {
	for _, l := range s.cal.lists {
		if strings.EqualFold(l.EmailAddress, addr) {
			return l
		}
	}
	return nil
}

func appendRoom(b []byte, r *Room) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"emailAddress":`...)
	b = appendString(b, r.EmailAddress)
	b = append(b, `,"displayName":`...)
	b = appendString(b, r.DisplayName)
	b = append(b, `,"address":null,"geoCoordinates":null,"phone":null,"nickname":`...)
	b = appendString(b, r.DisplayName)
	b = append(b, `,"label":null,"capacity":`...)
	b = strconv.AppendInt(b, int64(r.Capacity), 10)
	b = append(b, `,"building":`...)
	b = appendStringOrNull(b, r.Building)
	b = append(b, `,"floorLabel":`...)
	b = appendStringOrNull(b, r.FloorLabel)
	b = append(b, `,"floorNumber":`...)
	b = strconv.AppendInt(b, int64(r.FloorNumber), 10)
	b = append(b, `,"isWheelChairAccessible":`...)
	b = appendBool(b, r.IsWheelChairAccessible)
	return append(b, `,"bookingType":"standard","tags":[],"audioDeviceName":null,"videoDeviceName":null,"displayDeviceName":null}`...)
}

func appendRoomList(b []byte, l *RoomList) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, l.ID)
	b = append(b, `,"displayName":`...)
	b = appendString(b, l.DisplayName)
	b = append(b, `,"address":null,"geoCoordinates":null,"phone":"","emailAddress":`...)
	b = appendString(b, l.EmailAddress)
	return append(b, '}')
}

// listPlaces serves /places/microsoft.graph.room and
// /places/microsoft.graph.roomlist.
func (s *Server) listPlaces(rc *reqCtx) *result {
	kind := strings.ToLower(rc.route.key(0))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cal.init()
	switch kind {
	case "microsoft.graph.room":
		return s.roomPage(rc, "places/microsoft.graph.room", func(*Room) bool { return true })
	case "microsoft.graph.roomlist":
		var items [][]byte
		for _, l := range s.cal.lists {
			if s.visible(rc, l.TenantID) {
				items = append(items, appendRoomList(nil, l))
			}
		}
		return s.placePage(rc, "places/microsoft.graph.roomlist", items)
	}
	return s.fail(rc, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rc.route.key(0)+"'.")
}

// listRoomsOf serves /places/{address}/microsoft.graph.roomlist/rooms.
func (s *Server) listRoomsOf(rc *reqCtx) *result {
	addr := rc.route.key(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.roomListLocked(addr)
	if l == nil || !s.visible(rc, l.TenantID) {
		return s.fail(rc, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	}
	return s.roomPage(rc, keyed("places", l.EmailAddress)+"/microsoft.graph.roomlist/rooms", func(r *Room) bool {
		return strings.EqualFold(r.RoomList, l.EmailAddress)
	})
}

func (s *Server) roomPage(rc *reqCtx, path string, keep func(*Room) bool) *result {
	var items [][]byte
	for _, r := range s.cal.rooms {
		if s.visible(rc, r.TenantID) && !r.Hidden && keep(r) {
			items = append(items, appendRoom(nil, r))
		}
	}
	return s.placePage(rc, path, items)
}

// placePage renders the $top/$skip page of rendered places.
func (s *Server) placePage(rc *reqCtx, path string, items [][]byte) *result {
	pg, res := s.parsePaging(rc, 100)
	if res != nil {
		return res
	}
	l := newList(s.metadata(rc, path))
	rest := items[min(pg.skip, len(items)):]
	for _, it := range rest[:min(pg.size, len(rest))] {
		l.next()
		l.b = append(l.b, it...)
	}
	link := ""
	if len(rest) > pg.size {
		link = s.link(rc, path, "$top", strconv.Itoa(pg.size), "$skip", strconv.Itoa(pg.skip+pg.size))
	}
	return jsonResult(l.close("@odata.nextLink", link))
}
