package fakegraph

import (
	"encoding/json"
	"net/http"
	"strings"
)

// A tiny OneDrive, for package graphsdk's examples of Graph calls the
// library does not wrap: every user with a mailbox has a drive whose root
// holds the same two items, and nothing else of OneDrive is served.
//
//	GET /users/{id}/drive, /me/drive
//	GET /users/{id}/drive/root/children, /me/drive/root/children
//	GET /drives/{drive-id}/items/root/children, /drives/{drive-id}/root/children
//
// A drive's ID is "b!" and its owner's user ID. Requests under /drives name
// no mailbox, as at Graph: OneDrive is not paced per mailbox.

// driveItem is a drive item as Graph renders it (the fields the examples read).
type driveItem struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	Size                 int64           `json:"size"`
	CreatedDateTime      string          `json:"createdDateTime"`
	LastModifiedDateTime string          `json:"lastModifiedDateTime"`
	WebURL               string          `json:"webUrl"`
	Folder               *driveFolder    `json:"folder,omitempty"`
	File                 *driveFile      `json:"file,omitempty"`
	ParentReference      json.RawMessage `json:"parentReference"`
}

type driveFolder struct {
	ChildCount int `json:"childCount"`
}

type driveFile struct {
	MimeType string `json:"mimeType"`
}

// driveRoute serves the drive routes, or returns nil for any other.
func (s *Server) driveRoute(rc *reqCtx) *result {
	segs := rc.route.segs
	if len(segs) == 0 {
		return nil
	}
	var owner *userRec
	var rest []seg
	switch {
	case segs[0].name == "users" && segs[0].hasKey && len(segs) >= 2 && segs[1].name == "drive":
		owner, rest = rc.user, segs[2:]
	case segs[0].name == "me" && len(segs) >= 2 && segs[1].name == "drive":
		s.mu.Lock()
		owner = s.userByKey[strings.ToLower(rc.me)]
		s.mu.Unlock()
		rest = segs[2:]
	case segs[0].name == "drives":
		id, i := segs[0].key, 1
		if !segs[0].hasKey && len(segs) > 1 {
			id, i = segs[1].name, 2
		}
		s.mu.Lock()
		owner = s.userByKey[strings.TrimPrefix(strings.ToLower(id), "b!")]
		s.mu.Unlock()
		if owner == nil || !strings.HasPrefix(strings.ToLower(id), "b!") {
			return s.fail(rc, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
		}
		rest = segs[i:]
		if len(rest) > 0 && rest[0].name == "items" && rest[0].hasKey && strings.EqualFold(rest[0].key, "root") {
			rest = append([]seg{{name: "root"}}, rest[1:]...)
		} else if len(rest) > 1 && rest[0].name == "items" && rest[1].name == "root" {
			rest = rest[1:]
		}
	default:
		return nil
	}
	if rc.r.Method != http.MethodGet {
		return s.fail(rc, http.StatusMethodNotAllowed, "BadRequest", "The fake serves OneDrive for GET only.")
	}
	if owner == nil || !s.visible(rc, owner.u.TenantID) {
		return s.fail(rc, http.StatusNotFound, "ErrorInvalidUser", "The requested user is invalid.")
	}
	if owner.mb == nil {
		return s.fail(rc, http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
	}
	driveID := "b!" + owner.u.ID
	web := "https://contoso-my.sharepoint.com/personal/" + strings.NewReplacer("@", "_", ".", "_").Replace(owner.u.UPN) + "/Documents"
	switch {
	case len(rest) == 0:
		out, _ := json.Marshal(map[string]any{
			"@odata.context": s.Origin() + "/v1.0/$metadata#drives/$entity",
			"id":             driveID, "driveType": "business", "name": "OneDrive", "webUrl": web,
			"owner": map[string]any{"user": map[string]string{"id": owner.u.ID, "displayName": owner.u.DisplayName}},
		})
		return jsonResult(out)
	case len(rest) == 2 && rest[0].name == "root" && rest[1].name == "children":
		parent, _ := json.Marshal(map[string]string{"driveId": driveID, "driveType": "business", "id": driveID + "!root", "path": "/drive/root:"})
		const created = "2024-01-02T09:00:00Z"
		items := []driveItem{
			{ID: driveID + "!1", Name: "Documents", CreatedDateTime: created, LastModifiedDateTime: created,
				WebURL: web + "/Documents", Folder: &driveFolder{}, ParentReference: parent},
			{ID: driveID + "!2", Name: "Getting started with OneDrive.pdf", Size: 1117369, CreatedDateTime: created,
				LastModifiedDateTime: created, WebURL: web + "/Getting%20started%20with%20OneDrive.pdf",
				File: &driveFile{MimeType: "application/pdf"}, ParentReference: parent},
		}
		out, _ := json.Marshal(map[string]any{
			"@odata.context": s.Origin() + "/v1.0/$metadata#drives('" + driveID + "')/items('root')/children",
			"value":          items,
		})
		return jsonResult(out)
	}
	return s.fail(rc, http.StatusBadRequest, "invalidRequest", "The fake serves only a drive and its root's children.")
}
