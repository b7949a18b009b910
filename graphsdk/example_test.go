package graphsdk_test

import (
	"context"
	"fmt"

	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphsdk"
	"github.com/m365link/m365link/m365linktest"
)

// A Graph call the library does not wrap: list the root of a user's
// OneDrive with the SDK, app-only, on the shared Graph client and the
// tenant's token source.
func Example_oneDriveRoot() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	ctx := context.Background()

	client, err := graphsdk.New(graphsdk.Config{Client: tenant.Graph(), Token: tenant.AppToken()})
	if err != nil {
		panic(err)
	}
	drive, err := client.Users().ByUserId(alice.ID).Drive().Get(ctx, nil)
	if err != nil {
		panic(err)
	}
	root, err := client.Drives().ByDriveId(*drive.GetId()).Items().ByDriveItemId("root").Children().Get(ctx, nil)
	if err != nil {
		panic(err)
	}
	for _, item := range root.GetValue() {
		if item.GetFolder() != nil {
			fmt.Printf("%s/\n", *item.GetName())
		} else {
			fmt.Printf("%s (%d bytes)\n", *item.GetName(), *item.GetSize())
		}
	}
	// Output:
	// Documents/
	// Getting started with OneDrive.pdf (1117369 bytes)
}

// Paging through a folder's messages with the SDK's delta request and
// page iterator, which follows the nextLinks and keeps the deltaLink for
// the next round. PageSize makes every page 50 messages: the iterator
// asks for later pages without the first request's Prefer header, and
// would get Graph's default of 10 (12 requests here instead of 3).
func Example_pageIterator() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	for i := range 120 {
		tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: fmt.Sprintf("Quote %d", i+1)})
	}
	ctx := context.Background()

	client, err := graphsdk.New(graphsdk.Config{Client: tenant.Graph(), Token: tenant.AppToken(), PageSize: 50})
	if err != nil {
		panic(err)
	}
	first, err := client.Users().ByUserId(alice.ID).MailFolders().ByMailFolderId("inbox").Messages().Delta().GetAsDeltaGetResponse(ctx,
		&users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetQueryParameters{Select: []string{"subject"}}})
	if err != nil {
		panic(err)
	}
	it, err := msgraphcore.NewPageIterator[models.Messageable](first, client.GetAdapter(),
		users.CreateItemMailFoldersItemMessagesDeltaGetResponseFromDiscriminatorValue)
	if err != nil {
		panic(err)
	}
	n := 0
	err = it.Iterate(ctx, func(m models.Messageable) bool {
		n++
		return true
	})
	fmt.Println(n, "messages", err)
	fmt.Println(tenant.Stats(alice.ID).Requests, "requests; delta link kept:", it.GetOdataDeltaLink() != nil)
	// Output:
	// 120 messages <nil>
	// 3 requests; delta link kept: true
}
