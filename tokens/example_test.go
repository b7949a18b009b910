package tokens_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// Encrypt a store at rest, then rotate the key: rewrap every entry under
// the new primary and drop the old key.
func ExampleRewrap() {
	ctx := context.Background()
	raw := &tokens.Memory{} // the host's database in real life
	oldKey := bytes.Repeat([]byte{1}, 32)
	newKey := bytes.Repeat([]byte{2}, 32)

	ring, _ := tokens.NewKeyRing(1, oldKey)
	key := tokens.Key{Account: m365link.Account{TenantID: "t1", UserID: "u1"}, Purpose: tokens.PurposeMSAL}
	_, _ = tokens.NewEncrypted(raw, ring).Put(ctx, key, []byte("msal cache blob"), 0)

	rotated, _ := tokens.NewKeyRing(2, newKey)
	rotated, _ = rotated.WithDecryptOnly(1, oldKey)
	stats, _ := tokens.Rewrap(ctx, raw, rotated)
	fmt.Printf("%+v\n", stats)

	onlyNew, _ := tokens.NewKeyRing(2, newKey)
	e, _ := tokens.NewEncrypted(raw, onlyNew).Get(ctx, key)
	fmt.Println(string(e.Data))
	// Output:
	// {Rewrapped:1 Current:0 Conflicts:0}
	// msal cache blob
}

// A blob copied into another account's row does not decrypt.
func ExampleNewEncrypted() {
	ctx := context.Background()
	raw := &tokens.Memory{}
	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{9}, 32))
	store := tokens.NewEncrypted(raw, ring)
	alice := tokens.Key{Account: m365link.Account{TenantID: "t1", UserID: "alice"}, Purpose: tokens.PurposeMSAL}
	mallory := tokens.Key{Account: m365link.Account{TenantID: "t1", UserID: "mallory"}, Purpose: tokens.PurposeMSAL}

	_, _ = store.Put(ctx, alice, []byte("alice's tokens"), 0)
	stolen, _ := raw.Get(ctx, alice)
	_, _ = raw.Put(ctx, mallory, stolen.Data, 0)

	_, err := store.Get(ctx, mallory)
	fmt.Println(errors.Is(err, tokens.ErrDecrypt))
	// Output: true
}

// Hosts branch on the typed reconnect-required error.
func ExampleSource_Token() {
	handle := func(err error) string {
		var re *m365link.ReconnectError
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &re):
			return "ask " + re.Account.Key() + " to reconnect: " + string(re.Reason)
		case errors.Is(err, m365link.ErrUnavailable):
			return "try again later"
		}
		return "unexpected: " + err.Error()
	}
	fmt.Println(handle(&m365link.ReconnectError{Account: m365link.Account{TenantID: "t1", UserID: "u1"}, Reason: m365link.ReasonExpired}))
	// Output: ask t1/u1 to reconnect: expired
}
