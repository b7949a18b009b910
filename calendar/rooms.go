package calendar

import (
	"context"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// RoomList is a list of rooms, such as a building's.
type RoomList struct {
	ID   string
	Name string
	// Address is the list's SMTP address, which [Client.Rooms] takes.
	Address string
}

// Room is a bookable room.
type Room struct {
	ID   string
	Name string
	// Address is the room's SMTP address: invite it to book the room, and
	// read its free/busy with [Client.Schedules].
	Address              string
	Capacity             int
	Building             string
	FloorLabel           string
	FloorNumber          int
	WheelchairAccessible bool
}

// Attendee returns r as the resource attendee that books it.
func (r Room) Attendee() m365link.Attendee {
	return m365link.Attendee{EmailAddress: m365link.EmailAddress{Name: r.Name, Address: r.Address}, Type: m365link.AttendeeResource}
}

// RoomLists lists the tenant's room lists (Place.Read.All). Rooms hidden
// from the address list are never listed.
//
// Graph: GET /places/microsoft.graph.roomlist.
func (c *Client) RoomLists(ctx context.Context, tok TokenSource) ([]RoomList, error) {
	type wire struct {
		ID           string `json:"id"`
		DisplayName  string `json:"displayName"`
		EmailAddress string `json:"emailAddress"`
	}
	ws, err := getAll[wire](ctx, c, tok, "", &graph.Request{Path: "/places/microsoft.graph.roomlist"})
	if err != nil {
		return nil, classify("rooms", "", "", onTenant, err)
	}
	out := make([]RoomList, len(ws))
	for i, w := range ws {
		out[i] = RoomList{ID: w.ID, Name: w.DisplayName, Address: w.EmailAddress}
	}
	return out, nil
}

// Rooms lists the rooms of a room list (by its address), or every room of
// the tenant for "".
//
// Graph: GET /places/microsoft.graph.room, or
// /places/{address}/microsoft.graph.roomlist/rooms.
func (c *Client) Rooms(ctx context.Context, tok TokenSource, roomList string) ([]Room, error) {
	type wire struct {
		ID                     string     `json:"id"`
		DisplayName            string     `json:"displayName"`
		EmailAddress           string     `json:"emailAddress"`
		Capacity               lenientInt `json:"capacity"`
		Building               string     `json:"building"`
		FloorLabel             string     `json:"floorLabel"`
		FloorNumber            lenientInt `json:"floorNumber"`
		IsWheelChairAccessible graph.Bool `json:"isWheelChairAccessible"`
	}
	path := "/places/microsoft.graph.room"
	if roomList != "" {
		// Graph takes the list's address here, not its ID.
		path = graph.Path("places", roomList, "microsoft.graph.roomlist", "rooms")
	}
	ws, err := getAll[wire](ctx, c, tok, "", &graph.Request{Path: path})
	if err != nil {
		return nil, classify("rooms", "", "", onTenant, err)
	}
	out := make([]Room, len(ws))
	for i, w := range ws {
		out[i] = Room{ID: w.ID, Name: w.DisplayName, Address: w.EmailAddress, Capacity: int(w.Capacity), Building: w.Building,
			FloorLabel: w.FloorLabel, FloorNumber: int(w.FloorNumber), WheelchairAccessible: bool(w.IsWheelChairAccessible)}
	}
	return out, nil
}
