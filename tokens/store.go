package tokens

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"iter"
	"log/slog"
	"strconv"
	"strings"

	"github.com/m365link/m365link"
)

// Errors a [Store] returns.
var (
	// ErrNotFound: no entry for the key.
	ErrNotFound = errors.New("tokens: not found")
	// ErrConflict: the entry's version is not the one the caller read, so
	// another process wrote it first. Re-read and decide again.
	ErrConflict = errors.New("tokens: version conflict")
)

// Purposes of stored entries. One account can hold one entry per purpose.
const (
	// PurposeMSAL holds the account's partition of MSAL's token cache (an
	// opaque blob: access, refresh and ID tokens MSAL manages).
	PurposeMSAL = "msal"
	// PurposeOAuth2 holds a token pair a host brought from its own OAuth
	// stack, refreshed with golang.org/x/oauth2.
	PurposeOAuth2 = "oauth2"
)

// Key names one stored entry: an account and what the entry is for.
type Key struct {
	Account m365link.Account
	Purpose string
}

// String returns "tenant/user:purpose" (lower-case IDs); it holds no secret.
func (k Key) String() string { return k.Account.Key() + ":" + k.Purpose }

// normal returns k with IDs lower-cased: Entra IDs are GUIDs and compare
// case-insensitively, so a store keys them one way.
func (k Key) normal() Key {
	k.Account.TenantID = strings.ToLower(k.Account.TenantID)
	k.Account.UserID = strings.ToLower(k.Account.UserID)
	return k
}

// Entry is a stored blob and its version. Versions start at 1 and grow by
// one with every successful Put; 0 means "no entry". Data read through
// [Encrypted] holds tokens in the clear, so an Entry formats (fmt) and
// logs (slog) as its version and size only. encoding/json still marshals
// Data, for stores that serialise entries.
type Entry struct {
	Data    []byte
	Version int64
}

// String shows the version and the size of Data, never Data.
func (e Entry) String() string {
	return "tokens.Entry{version " + strconv.FormatInt(e.Version, 10) + ", " + strconv.Itoa(len(e.Data)) + " bytes}"
}

// GoString is String, so %#v shows no token either.
func (e Entry) GoString() string { return e.String() }

// LogValue is what slog shows: the version and the size of Data.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("version", e.Version), slog.Int("bytes", len(e.Data)))
}

// Store keeps token blobs in the host's database. The library only ever
// stores opaque, already-encrypted bytes through it (wrap it with
// [Encrypted]). Implementations must be safe for concurrent use by many
// goroutines and many processes, and must honour ctx.
//
// Put is a compare-and-swap: it writes only when the stored version is
// still prev (0: no entry yet), so two processes refreshing the same
// account cannot overwrite each other's rotated refresh token.
type Store interface {
	// Get returns the entry for key, or an error matching ErrNotFound.
	Get(ctx context.Context, key Key) (Entry, error)
	// Put stores data for key if the current version is prev and returns
	// the new version (prev+1); otherwise it returns an error matching
	// ErrConflict and changes nothing.
	Put(ctx context.Context, key Key, data []byte, prev int64) (int64, error)
	// Delete removes the entry; deleting a missing entry is not an error.
	Delete(ctx context.Context, key Key) error
}

// Lister is implemented by stores that can enumerate their keys; key
// rotation ([Rewrap]) and disconnecting a whole tenant
// ([Manager.Disconnect]) need it.
type Lister interface {
	// Keys yields every key whose account is in tenant, or every key when
	// tenant is "". It stops at the first error, which it yields.
	Keys(ctx context.Context, tenant string) iter.Seq2[Key, error]
}

// randomID returns 16 random hex digits, naming a process in refresh claims.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
