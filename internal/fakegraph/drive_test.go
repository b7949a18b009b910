package fakegraph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

// The tiny OneDrive answers the drive and its root's children by user and
// by drive ID, and nothing else of OneDrive.
func TestDriveRootChildren(t *testing.T) {
	s := fakegraph.New()
	defer s.Close()
	tn := s.AddTenant(fakegraph.Tenant{DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	u := s.AddUser(tn.ID, fakegraph.User{UPN: "alice@contoso.com", MailEnabled: true, AccountEnabled: true})
	nobox := s.AddUser(tn.ID, fakegraph.User{UPN: "bob@contoso.com", AccountEnabled: true})
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := s.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(b, &out), string(b))
		return resp.StatusCode, out
	}
	status, drive := get("/users/" + u.UPN + "/drive")
	require.Equal(t, 200, status)
	assert.Equal(t, "b!"+u.ID, drive["id"])
	names := func(body map[string]any) []string {
		var out []string
		for _, v := range body["value"].([]any) {
			out = append(out, v.(map[string]any)["name"].(string))
		}
		return out
	}
	want := []string{"Documents", "Getting started with OneDrive.pdf"}
	for _, p := range []string{"/users/" + u.ID + "/drive/root/children", "/drives/b!" + u.ID + "/items/root/children",
		"/drives('b!" + u.ID + "')/root/children"} {
		status, body := get(p)
		require.Equal(t, 200, status, p)
		assert.Equal(t, want, names(body), p)
	}
	status, body := get("/users/" + nobox.ID + "/drive/root/children")
	assert.Equal(t, 404, status)
	assert.Equal(t, "ResourceNotFound", body["error"].(map[string]any)["code"])
	status, _ = get("/drives/b!nobody/items/root/children")
	assert.Equal(t, 404, status)
	status, _ = get("/users/" + u.ID + "/drive/items/x/content")
	assert.Equal(t, 400, status)
}
