package graphsdk_test

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/graphsdk"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
)

func newClient(t *testing.T, cfg graphsdk.Config) *msgraphsdk.GraphServiceClient {
	t.Helper()
	c, err := graphsdk.New(cfg)
	require.NoError(t, err)
	return c
}

// An SDK burst for a mailbox and a sync pass of the same mailbox share its
// limiter: while both run, Graph never sees more than 4 requests for the
// mailbox at once. On a client of its own (its own limiter), the same
// burst pushes the mailbox past 4, which is what Outlook answers with 429
// MailboxConcurrency.
func TestSDKAndSyncShareTheMailboxLimiter(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "one client", false: "two clients"}[shared], func(t *testing.T) {
			tenant := m365linktest.New(t)
			gen := tenant.Generate(m365linktest.Spec{Mailboxes: 1, MessagesPerMailbox: 200, Vendors: 3})
			alice := gen.Users[0]
			// Every answer for alice takes a while, so requests overlap.
			tenant.Inject(m365linktest.Fault{Kind: m365linktest.SlowResponse, Mailbox: alice.ID, Delay: 20 * time.Millisecond})

			sdkGraph := tenant.Graph()
			if !shared {
				var err error
				sdkGraph, err = graphclient.New(graphclient.Config{Cloud: tenant.Cloud(), HTTPClient: tenant.HTTPClient()})
				require.NoError(t, err)
			}
			client := newClient(t, graphsdk.Config{Client: sdkGraph, Token: tenant.AppToken()})
			engine, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
				Tokens: func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
				Sink:   &m365sync.MemorySink{}, State: &m365sync.MemoryState{}})
			require.NoError(t, err)

			ctx, stop := context.WithCancel(t.Context())
			var sdkCalls atomic.Int64
			var wg gosync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						_, err := client.Users().ByUserId(alice.ID).Messages().Get(ctx, nil)
						if ctx.Err() == nil && assert.NoError(t, err) {
							sdkCalls.Add(1)
						}
					}
				})
			}
			for sdkCalls.Load() < 8 { // the burst is on before the pass starts
				time.Sleep(time.Millisecond)
			}
			err = engine.SyncOnce(ctx, alice.Mailbox())
			stop()
			wg.Wait()
			require.NoError(t, err)

			st := tenant.Stats(alice.ID)
			assert.Greater(t, st.Routes["GET /users/{id}/mailFolders/{id}/messages/delta"], 0, "the pass synced")
			if shared {
				assert.Equal(t, 4, st.MaxInFlight, "4 at once, never more")
			} else {
				assert.Greater(t, st.MaxInFlight, 4, "two limiters let both through")
			}
			assert.Zero(t, st.Throttled)
		})
	}
}

// A delegated client of a user whose grant is gone returns the library's
// reconnect error from an SDK call, and sends nothing to Graph.
func TestRevokedUserGetsReconnectRequired(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	tenant.SetAccessTokenLifetime(time.Minute) // below the refresh margin: every call refreshes
	_, err := tenant.Browser(alice.UPN).Connect(t.Context(), nil, nil)
	require.NoError(t, err)
	client := newClient(t, graphsdk.Config{Client: tenant.Graph(), Token: tenant.Tokens().Source(alice.Account())})

	drive, err := client.Me().Drive().Get(t.Context(), nil)
	require.NoError(t, err)
	assert.Equal(t, "b!"+alice.ID, *drive.GetId())

	tenant.RevokeConsent()
	tenant.ResetStats()
	_, err = client.Me().Drive().Get(t.Context(), nil)
	require.ErrorIs(t, err, m365link.ErrReconnectRequired)
	var re *m365link.ReconnectError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, m365link.ReasonConsentWithdrawn, re.Reason)
	assert.Equal(t, alice.Account(), re.Account)
	assert.Zero(t, tenant.Stats("").Requests+tenant.Stats(alice.ID).Requests, "nothing reached Graph")
}

// Graph's error answers read as the library's GraphError and as the SDK's
// ODataError; the error text has no query.
func TestGraphErrorsAreTyped(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	client := newClient(t, graphsdk.Config{Client: tenant.Graph(), Token: tenant.AppToken()})

	_, err := client.Users().ByUserId("nobody@contoso.com").Messages().Get(t.Context(), &users.ItemMessagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMessagesRequestBuilderGetQueryParameters{Select: []string{"subject"}}})
	require.ErrorIs(t, err, m365link.ErrNotFound)
	var ge *m365link.GraphError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, 404, ge.StatusCode)
	assert.Equal(t, "ErrorInvalidUser", ge.Code)
	assert.Equal(t, "GET", ge.Method)
	assert.Equal(t, "/v1.0/users/nobody%40contoso.com/messages", ge.Path, "as sent")
	assert.NotEmpty(t, ge.RequestID)
	var oe *odataerrors.ODataError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, 404, oe.ResponseStatusCode)
	assert.NotContains(t, err.Error(), "select")

	// The SDK's retry handler truncates 0.5 s to no wait at all; the
	// limiter holds the mailbox between its retries (20 ms at most on the
	// tenant's quick client), and the error reads it rounded up.
	tenant.Inject(m365linktest.Fault{Kind: m365linktest.Throttle, Mailbox: alice.ID, RetryAfter: 500 * time.Millisecond})
	_, err = client.Users().ByUserId(alice.ID).Messages().Get(t.Context(), nil)
	require.ErrorIs(t, err, m365link.ErrThrottled)
	d, ok := m365link.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, time.Second, d)
	assert.Equal(t, 4, tenant.Stats(alice.ID).Throttled, "the SDK's three retries")
}

// The page iterator drops the first request's headers, so Graph's page
// size falls back to its default from the second page on (Graph reads
// Prefer: odata.maxpagesize on every delta request, and so does the fake);
// PageSize, or PageSizeHeaders given to the iterator too, keeps it.
func TestPageSizeSurvivesThePageIterator(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	for i := range 60 {
		tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: fmt.Sprintf("Quote %d", i)})
	}
	count := func(client *msgraphsdk.GraphServiceClient, first, later *abstractions.RequestHeaders) (items, requests int) {
		t.Helper()
		tenant.ResetStats()
		cfg := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{Headers: first}
		resp, err := client.Users().ByUserId(alice.ID).MailFolders().ByMailFolderId("inbox").Messages().Delta().GetAsDeltaGetResponse(t.Context(), cfg)
		require.NoError(t, err)
		it, err := msgraphcore.NewPageIterator[models.Messageable](resp, client.GetAdapter(),
			users.CreateItemMailFoldersItemMessagesDeltaGetResponseFromDiscriminatorValue)
		require.NoError(t, err)
		if later != nil {
			it.SetHeaders(later)
		}
		require.NoError(t, it.Iterate(t.Context(), func(models.Messageable) bool { items++; return true }))
		require.NotNil(t, it.GetOdataDeltaLink())
		return items, tenant.Stats(alice.ID).Routes["GET /users/{id}/mailFolders/{id}/messages/delta"]
	}
	plain := newClient(t, graphsdk.Config{Client: tenant.Graph(), Token: tenant.AppToken()})
	items, requests := count(plain, graphsdk.PageSizeHeaders(30), nil)
	assert.Equal(t, [2]int{60, 4}, [2]int{items, requests}, "30, then 10 a page")
	items, requests = count(plain, graphsdk.PageSizeHeaders(30), graphsdk.PageSizeHeaders(30))
	assert.Equal(t, [2]int{60, 2}, [2]int{items, requests})
	sized := newClient(t, graphsdk.Config{Client: tenant.Graph(), Token: tenant.AppToken(), PageSize: 30})
	items, requests = count(sized, nil, nil)
	assert.Equal(t, [2]int{60, 2}, [2]int{items, requests})
	items, requests = count(sized, graphsdk.PageSizeHeaders(20), graphsdk.PageSizeHeaders(20))
	assert.Equal(t, [2]int{60, 3}, [2]int{items, requests}, "a call's own size wins")
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	_, err := graphsdk.New(graphsdk.Config{PageSize: -1})
	require.Error(t, err)
	assert.Equal(t, "graphsdk: Client is required (a *graphclient.Client made by graphclient.New)\nToken is required\nPageSize -1 is negative", err.Error())
	_, err = graphsdk.New(graphsdk.Config{Client: &graphclient.Client{}, Token: graphclient.StaticToken("t")})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "graphsdk: Client is required"))
}

// A paging link to another origin is refused before anything is sent: no
// token leaves for it (the SDK's Azure provider would send the request
// without one and report nothing).
func TestForeignPagingLinkIsRefused(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	for i := range 30 {
		tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: fmt.Sprintf("Quote %d", i)})
	}
	client := newClient(t, graphsdk.Config{Client: tenant.Graph(), Token: tenant.AppToken(), PageSize: 10})
	tenant.Inject(m365linktest.Fault{Kind: m365linktest.ForeignLink, Mailbox: alice.ID, Route: "/messages/delta"})
	first, err := client.Users().ByUserId(alice.ID).MailFolders().ByMailFolderId("inbox").Messages().Delta().GetAsDeltaGetResponse(t.Context(), nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(*first.GetOdataNextLink(), "https://evil.example/"))
	it, err := msgraphcore.NewPageIterator[models.Messageable](first, client.GetAdapter(),
		users.CreateItemMailFoldersItemMessagesDeltaGetResponseFromDiscriminatorValue)
	require.NoError(t, err)
	err = it.Iterate(t.Context(), func(models.Messageable) bool { return true })
	require.ErrorIs(t, err, m365link.ErrUntrustedLink)
	assert.Equal(t, "graphsdk: m365link: link outside the Graph origin refused: no token is sent to https://evil.example", err.Error())
}
