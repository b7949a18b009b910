package fakegraph_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

type batchResponses struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func postBatch(t *testing.T, s *fakegraph.Server, body string) (*response, batchResponses) {
	t.Helper()
	r := do(t, s, http.MethodPost, s.URL()+"/$batch", strings.NewReader(body), "Content-Type", "application/json")
	var out batchResponses
	if r.Status == http.StatusOK {
		require.NoError(t, json.Unmarshal(r.Body, &out), string(r.Body))
	}
	return r, out
}

func TestBatch(t *testing.T) {
	s, alice := setup(t)
	m := msg(s, alice.ID, "inbox", "quote", 1)
	r, out := postBatch(t, s, `{"requests":[
		{"id":"1","method":"GET","url":"/users/alice@contoso.com/messages/`+m.ID+`?$select=subject"},
		{"id":"2","method":"GET","url":"users('alice@contoso.com')/mailFolders('inbox')"},
		{"id":"3","method":"GET","url":"/users/nobody@contoso.com/mailFolders"},
		{"id":"4","method":"GET","url":"/users/alice@contoso.com/mailFolders","dependsOn":["3"]},
		{"id":"5","method":"GET","url":"https://graph.microsoft.com/v1.0/users"}
	]}`)
	require.Equal(t, http.StatusOK, r.Status)
	var gotIDs []string
	var statuses []int
	for _, it := range out.Responses {
		gotIDs = append(gotIDs, it.ID)
		statuses = append(statuses, it.Status)
	}
	assert.Equal(t, []string{"5", "4", "3", "2", "1"}, gotIDs, "answers come back out of order")
	assert.Equal(t, []int{400, 424, 404, 200, 200}, statuses)
	assert.JSONEq(t, `{"@odata.context":"`+s.Origin()+`/v1.0/$metadata#users('`+alice.ID+`')/messages/$entity","@odata.etag":"W/\"`+m.ChangeKey+`\"","id":"`+m.ID+`","subject":"quote"}`, string(out.Responses[4].Body))
	assert.Equal(t, "application/json", strings.Split(out.Responses[3].Headers["Content-Type"], ";")[0])

	recs := s.Requests()
	var batchItems int
	for _, rec := range recs {
		if rec.Batch {
			batchItems++
		}
	}
	assert.Equal(t, 3, batchItems, "the dependent item never ran, the absolute URL never routed")
	assert.Equal(t, 2, s.Stats(alice.ID).Requests)
	assert.Equal(t, 1, s.Stats("").Requests, "the envelope")
}

func TestBatchLimitsAndDuplicates(t *testing.T) {
	s, alice := setup(t)
	items := func(n int, dupe bool) string {
		var parts []string
		for i := range n {
			id := fmt.Sprint(i)
			if dupe && i == n-1 {
				id = "0"
			}
			parts = append(parts, `{"id":"`+id+`","method":"GET","url":"/users/alice@contoso.com/mailFolders"}`)
		}
		return `{"requests":[` + strings.Join(parts, ",") + `]}`
	}
	r, out := postBatch(t, s, items(20, false))
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, out.Responses, 20)

	s.ResetStats()
	r, _ = postBatch(t, s, items(21, false))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "BadRequest", r.errorCode(t))
	r, _ = postBatch(t, s, items(3, true))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r, _ = postBatch(t, s, `{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["9"]}]}`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r, _ = postBatch(t, s, `not json`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, 0, s.Stats(alice.ID).Requests, "a rejected batch runs nothing")
	r = get(t, s, s.URL()+"/$batch")
	assert.Equal(t, http.StatusMethodNotAllowed, r.Status)
}

func TestBatchItemsMeetFaultsAndLimits(t *testing.T) {
	s, alice := setup(t, fakegraph.WithLimits(fakegraph.Limits{Requests: 3}))
	m := msg(s, alice.ID, "inbox", "x", 1)
	s.Inject(fakegraph.Fault{Route: "/mailfolders", Mailbox: alice.ID, Kind: fakegraph.Throttle429, RetryAfter: "7", Times: 1})
	s.Inject(fakegraph.Fault{Route: "/messages/", Mailbox: alice.ID, Kind: fakegraph.MalformedJSON, Times: 1})
	// Item a goes first in a batch of its own: batch items without
	// dependsOn run in parallel, and the budget must see a before d.
	r, first := postBatch(t, s, `{"requests":[{"id":"a","method":"GET","url":"/users/alice@contoso.com/mailFolders"}]}`)
	require.Equal(t, http.StatusOK, r.Status)
	r, out := postBatch(t, s, `{"requests":[
		{"id":"b","method":"GET","url":"/users/alice@contoso.com/messages/`+m.ID+`"},
		{"id":"c","method":"GET","url":"/users/alice@contoso.com/calendars","dependsOn":["b"]},
		{"id":"d","method":"GET","url":"/users/alice@contoso.com/contacts","dependsOn":["c"]}
	]}`)
	require.Equal(t, http.StatusOK, r.Status)
	byID := map[string]int{}
	for i, it := range out.Responses {
		byID[it.ID] = i
	}
	a := first.Responses[0]
	assert.Equal(t, 429, a.Status)
	assert.Equal(t, "7", a.Headers["Retry-After"])
	b := out.Responses[byID["b"]]
	assert.Equal(t, 200, b.Status)
	var encoded string
	require.NoError(t, json.Unmarshal(b.Body, &encoded), "a body that is not JSON comes base64-encoded")
	raw, err := base64.StdEncoding.DecodeString(encoded)
	require.NoError(t, err)
	assert.False(t, json.Valid(raw))
	assert.Equal(t, 200, out.Responses[byID["c"]].Status)
	d := out.Responses[byID["d"]]
	assert.Equal(t, 429, d.Status, "over the 3-request budget")
	assert.Equal(t, 2, s.Stats(alice.ID).Throttled)
}

func TestBatchConnectionFaultBreaksTheBatch(t *testing.T) {
	s, alice := setup(t)
	s.Inject(fakegraph.Fault{Route: "/mailfolders", Kind: fakegraph.ConnReset, Times: 1})
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/$batch", strings.NewReader(`{"requests":[{"id":"1","method":"GET","url":"/users/alice@contoso.com/mailFolders"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	_, err = freshClient(s).Do(req)
	require.Error(t, err)
	assert.Equal(t, 0, s.Stats(alice.ID).InFlight)
	assert.Equal(t, 0, s.Stats("").InFlight)
}
