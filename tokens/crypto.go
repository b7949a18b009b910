package tokens

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"

	"github.com/m365link/m365link"
)

// ErrDecrypt: a stored blob could not be decrypted: unknown key ID, a blob
// that belongs to another account, purpose or version of the entry (a
// copied or rolled-back blob), or tampered bytes. The entry is unusable;
// the account must reconnect. Token sources report it as a
// *[m365link.ReconnectError] with [m365link.ReasonStoredGrantUnreadable].
var ErrDecrypt = errors.New("tokens: cannot decrypt stored entry")

// Ciphertext layout: format byte, 4-byte key ID, 12-byte nonce, AES-GCM
// sealed data with its 16-byte tag.
//
// Format 2 authenticates, besides the account and purpose, the format
// byte, the key ID and the entry's version in the store: a Put from
// version prev seals for prev+1, the version the [Store] contract says it
// gets. An older blob of the same entry, written back over a newer one,
// so fails to decrypt: the row's version moved on since it was sealed.
// (Restoring the row's version along with its bytes is a whole-database
// rollback, which no one row can reveal.)
//
// Format 1 bound only account and purpose. It is still read, for entries
// written before format 2; every write and [Rewrap] produce format 2.
const (
	formatV1     = 1
	formatV2     = 2
	headerLen    = 1 + 4 + 12
	minBlobLen   = headerLen + 16
	aadPrefixV1  = "m365link/tokens/v1"
	aadPrefixV2  = "m365link/tokens/v2"
	keySizeBytes = 32
)

// KeyRing holds the AES-256 keys that protect stored tokens: one primary
// key that encrypts, and older keys kept only to decrypt until [Rewrap] has
// moved every entry to the primary. Key IDs are the host's choice (a version
// number) and are written in clear at the front of every blob.
type KeyRing struct {
	primary uint32
	aeads   map[uint32]cipher.AEAD
}

// NewKeyRing returns a ring whose primary key is (id, key); key must be 32
// random bytes (crypto/rand, or a KMS data key). Add older keys with
// [KeyRing.WithDecryptOnly].
func NewKeyRing(id uint32, key []byte) (*KeyRing, error) {
	r := &KeyRing{primary: id, aeads: map[uint32]cipher.AEAD{}}
	if err := r.add(id, key); err != nil {
		return nil, err
	}
	return r, nil
}

// WithDecryptOnly returns a copy of r that can also decrypt blobs written
// under key id (a retired primary). It never encrypts with it.
func (r *KeyRing) WithDecryptOnly(id uint32, key []byte) (*KeyRing, error) {
	if _, dup := r.aeads[id]; dup {
		return nil, fmt.Errorf("tokens: key ID %d is already in the ring", id)
	}
	out := &KeyRing{primary: r.primary, aeads: make(map[uint32]cipher.AEAD, len(r.aeads)+1)}
	for k, v := range r.aeads {
		out.aeads[k] = v
	}
	if err := out.add(id, key); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *KeyRing) add(id uint32, key []byte) error {
	if len(key) != keySizeBytes {
		return fmt.Errorf("tokens: key %d is %d bytes; AES-256 needs %d", id, len(key), keySizeBytes)
	}
	if allZero(key) {
		// An all-zero key is a configuration mistake (an unset secret
		// decoded to zeros), never a random key.
		return fmt.Errorf("tokens: key %d is all zero bytes, not a random key (use crypto/rand or a KMS data key)", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("tokens: key %d: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("tokens: key %d: %w", id, err)
	}
	r.aeads[id] = aead
	return nil
}

// PrimaryID returns the ID of the key new blobs are encrypted with.
func (r *KeyRing) PrimaryID() uint32 { return r.primary }

// String names the key IDs, never key material.
func (r *KeyRing) String() string {
	ids := make([]uint32, 0, len(r.aeads))
	for id := range r.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return fmt.Sprintf("tokens.KeyRing{primary: %d, keys: %v}", r.primary, ids)
}

// GoString is String, so %#v shows no key material either.
func (r *KeyRing) GoString() string { return r.String() }

// LogValue is what slog shows: the key IDs, never key material.
func (r *KeyRing) LogValue() slog.Value {
	ids := make([]uint32, 0, len(r.aeads))
	for id := range r.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slog.GroupValue(slog.Any("primary", r.primary), slog.Any("keys", ids))
}

// aadV1 is format 1's associated data: the blob's account and purpose.
func aadV1(k Key) []byte {
	k = k.normal()
	b := make([]byte, 0, len(aadPrefixV1)+3+len(k.Account.TenantID)+len(k.Account.UserID)+len(k.Purpose))
	b = append(b, aadPrefixV1...)
	return appendKey(b, k)
}

// aadV2 is format 2's: the header's format and key ID, the entry's
// version, its account and its purpose.
func aadV2(header []byte, k Key, version int64) []byte {
	k = k.normal()
	b := make([]byte, 0, len(aadPrefixV2)+5+8+3+len(k.Account.TenantID)+len(k.Account.UserID)+len(k.Purpose))
	b = append(b, aadPrefixV2...)
	b = append(b, header[:5]...)
	b = binary.BigEndian.AppendUint64(b, uint64(version))
	return appendKey(b, k)
}

func appendKey(b []byte, k Key) []byte {
	b = append(b, 0)
	b = append(b, k.Account.TenantID...)
	b = append(b, 0)
	b = append(b, k.Account.UserID...)
	b = append(b, 0)
	return append(b, k.Purpose...)
}

// Seal encrypts plaintext under the primary key for entry key at version:
// the version the store gives the entry when the blob is written (a Put
// from prev writes version prev+1). [Encrypted] does this for every Put.
func (r *KeyRing) Seal(key Key, version int64, plaintext []byte) ([]byte, error) {
	aead := r.aeads[r.primary]
	out := make([]byte, headerLen, headerLen+len(plaintext)+aead.Overhead())
	out[0] = formatV2
	binary.BigEndian.PutUint32(out[1:5], r.primary)
	if _, err := rand.Read(out[5:headerLen]); err != nil {
		return nil, fmt.Errorf("tokens: nonce: %w", err)
	}
	return aead.Seal(out, out[5:headerLen], plaintext, aadV2(out, key, version)), nil
}

// Open decrypts a blob stored for entry key at version; the error matches
// [ErrDecrypt]. Blobs of format 1, which bound no version, open at any.
func (r *KeyRing) Open(key Key, version int64, blob []byte) ([]byte, error) {
	if len(blob) < minBlobLen || (blob[0] != formatV1 && blob[0] != formatV2) {
		return nil, &decryptError{key: key, why: "not a sealed blob"}
	}
	id := binary.BigEndian.Uint32(blob[1:5])
	aead, ok := r.aeads[id]
	if !ok {
		return nil, &decryptError{key: key, why: "key ID " + strconv.FormatUint(uint64(id), 10) + " is not in the ring"}
	}
	ad := aadV1(key)
	if blob[0] == formatV2 {
		ad = aadV2(blob, key, version)
	}
	pt, err := aead.Open(nil, blob[5:headerLen], blob[headerLen:], ad)
	if err != nil {
		return nil, &decryptError{key: key, why: "authentication failed (another account, purpose or version of the entry, another key, or tampered)"}
	}
	return pt, nil
}

// decryptError says why a blob did not open; it matches [ErrDecrypt].
type decryptError struct {
	key Key
	why string
}

func (e *decryptError) Error() string {
	return ErrDecrypt.Error() + ": " + e.key.String() + ": " + e.why
}
func (e *decryptError) Is(target error) bool { return target == ErrDecrypt }

// unreadable is what a token source reports for an account whose stored
// grant does not decrypt.
func unreadable(account m365link.Account, err error) *m365link.ReconnectError {
	why := "it does not decrypt"
	var de *decryptError
	if errors.As(err, &de) {
		why = de.why
	}
	return &m365link.ReconnectError{Account: account, Reason: m365link.ReasonStoredGrantUnreadable,
		Description: "the stored grant cannot be decrypted: " + why}
}

// current reports whether blob is in the current format under key ID primary.
func current(blob []byte, primary uint32) bool {
	return len(blob) >= minBlobLen && blob[0] == formatV2 && binary.BigEndian.Uint32(blob[1:5]) == primary
}

// versionMismatch is the error of a write whose store broke the Store
// contract by giving the entry another version than prev+1.
func versionMismatch(key Key, prev, got int64) error {
	return fmt.Errorf("tokens: the store gave %s version %d after a Put from %d; the Store contract says %d, and the blob, sealed for that version, will not decrypt",
		key, got, prev, prev+1)
}

// Encrypted wraps a [Store] so that everything written through it is
// sealed with AES-256-GCM under the ring's primary key and bound to its
// key (tenant, user, purpose) and to the version it is written at. Reads
// decrypt with whichever ring key sealed the blob. Versions pass through
// unchanged; copying entries to another database must keep them.
type Encrypted struct {
	store Store
	ring  *KeyRing
}

var _ Store = (*Encrypted)(nil)

// NewEncrypted returns s wrapped with encryption under ring.
func NewEncrypted(s Store, ring *KeyRing) *Encrypted { return &Encrypted{store: s, ring: ring} }

// String names the ring's key IDs and the wrapped store; never key
// material or what is stored.
func (e *Encrypted) String() string {
	return fmt.Sprintf("tokens.Encrypted{%s over %s}", e.ring, storeName(e.store))
}

// GoString is String, so %#v shows no secret either.
func (e *Encrypted) GoString() string { return e.String() }

// LogValue is what slog shows: the ring's key IDs and the wrapped store.
func (e *Encrypted) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("ring", e.ring), slog.String("store", storeName(e.store)))
}

// storeName names a wrapped store by its String when it has one (the
// package's own stores say nothing secret), else by its type: a host's
// store may print what it holds.
func storeName(s Store) string {
	switch s := s.(type) {
	case *Memory:
		return s.String()
	case *Encrypted:
		return s.String()
	}
	return fmt.Sprintf("%T", s)
}

// Get implements [Store]: it returns the decrypted entry. When the stored
// blob does not decrypt, the error matches [ErrDecrypt] and the entry
// returned has the stored version and no data, so that a writer can
// replace it.
func (e *Encrypted) Get(ctx context.Context, key Key) (Entry, error) {
	ent, err := e.store.Get(ctx, key)
	if err != nil {
		return Entry{}, err
	}
	pt, err := e.ring.Open(key, ent.Version, ent.Data)
	if err != nil {
		return Entry{Version: ent.Version}, err
	}
	return Entry{Data: pt, Version: ent.Version}, nil
}

// Put implements [Store]: it seals data for version prev+1 and stores it
// with compare-and-swap. A store that answers with another version breaks
// the Store contract; Put then reports it, as the blob would not decrypt.
func (e *Encrypted) Put(ctx context.Context, key Key, data []byte, prev int64) (int64, error) {
	blob, err := e.ring.Seal(key, prev+1, data)
	if err != nil {
		return 0, err
	}
	v, err := e.store.Put(ctx, key, blob, prev)
	if err == nil && v != prev+1 {
		return 0, versionMismatch(key, prev, v)
	}
	return v, err
}

// Delete implements [Store].
func (e *Encrypted) Delete(ctx context.Context, key Key) error { return e.store.Delete(ctx, key) }

// Keys implements [Lister] when the wrapped store does.
func (e *Encrypted) Keys(ctx context.Context, tenant string) iter.Seq2[Key, error] {
	l, ok := e.store.(Lister)
	if !ok {
		return func(yield func(Key, error) bool) {
			yield(Key{}, errors.New("tokens: the wrapped store cannot list keys"))
		}
	}
	return l.Keys(ctx, tenant)
}

// RewrapStats says what [Rewrap] did.
type RewrapStats struct {
	Rewrapped int // re-sealed in the current format under the primary key
	Current   int // already in the current format under the primary key
	Conflicts int // changed by someone else meanwhile (and so already re-sealed by them)
}

// Rewrap re-seals every entry of s that is not in the current format under
// ring's primary key, so that older keys can then be dropped from the ring. s is the raw
// (unencrypted-wrapper) store and must implement [Lister]. Entries written
// concurrently are left alone: whoever wrote them sealed them with the
// primary. It stops at the first error that is not a conflict; blobs it
// cannot decrypt are reported, never deleted.
func Rewrap(ctx context.Context, s Store, ring *KeyRing) (RewrapStats, error) {
	var st RewrapStats
	l, ok := s.(Lister)
	if !ok {
		return st, errors.New("tokens: Rewrap needs a store that implements Lister")
	}
	for key, err := range l.Keys(ctx, "") {
		if err != nil {
			return st, err
		}
		ent, err := s.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return st, err
		}
		if current(ent.Data, ring.primary) {
			st.Current++
			continue
		}
		pt, err := ring.Open(key, ent.Version, ent.Data)
		if err != nil {
			return st, err
		}
		blob, err := ring.Seal(key, ent.Version+1, pt)
		clear(pt)
		if err != nil {
			return st, err
		}
		v, err := s.Put(ctx, key, blob, ent.Version)
		switch {
		case errors.Is(err, ErrConflict):
			st.Conflicts++
			continue
		case err != nil:
			return st, err
		case v != ent.Version+1:
			return st, versionMismatch(key, ent.Version, v)
		}
		st.Rewrapped++
	}
	return st, nil
}

// allZero reports whether every byte of key is zero.
func allZero(key []byte) bool {
	for _, b := range key {
		if b != 0 {
			return false
		}
	}
	return true
}
