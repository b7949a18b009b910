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
	"slices"
)

// ErrDecrypt: a stored blob could not be decrypted: unknown key ID, a blob
// that belongs to another account or purpose, or tampered bytes. The entry
// is unusable; the account must reconnect.
var ErrDecrypt = errors.New("tokens: cannot decrypt stored entry")

// Ciphertext layout: version byte, 4-byte key ID, 12-byte nonce, AES-GCM
// sealed data with its 16-byte tag.
const (
	blobVersion  = 1
	headerLen    = 1 + 4 + 12
	minBlobLen   = headerLen + 16
	aadPrefix    = "m365link/tokens/v1"
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

// aad binds a blob to its account and purpose: a blob copied to another
// account's row fails to decrypt.
func aad(k Key) []byte {
	k = k.normal()
	b := make([]byte, 0, len(aadPrefix)+3+len(k.Account.TenantID)+len(k.Account.UserID)+len(k.Purpose))
	b = append(b, aadPrefix...)
	b = append(b, 0)
	b = append(b, k.Account.TenantID...)
	b = append(b, 0)
	b = append(b, k.Account.UserID...)
	b = append(b, 0)
	return append(b, k.Purpose...)
}

// Seal encrypts plaintext for key under the primary key.
func (r *KeyRing) Seal(key Key, plaintext []byte) ([]byte, error) {
	aead := r.aeads[r.primary]
	out := make([]byte, headerLen, headerLen+len(plaintext)+aead.Overhead())
	out[0] = blobVersion
	binary.BigEndian.PutUint32(out[1:5], r.primary)
	if _, err := rand.Read(out[5:headerLen]); err != nil {
		return nil, fmt.Errorf("tokens: nonce: %w", err)
	}
	return aead.Seal(out, out[5:headerLen], plaintext, aad(key)), nil
}

// Open decrypts a blob sealed for key; the error matches [ErrDecrypt].
func (r *KeyRing) Open(key Key, blob []byte) ([]byte, error) {
	if len(blob) < minBlobLen || blob[0] != blobVersion {
		return nil, fmt.Errorf("%w: %s: not a sealed blob", ErrDecrypt, key)
	}
	id := binary.BigEndian.Uint32(blob[1:5])
	aead, ok := r.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s: key ID %d is not in the ring", ErrDecrypt, key, id)
	}
	pt, err := aead.Open(nil, blob[5:headerLen], blob[headerLen:], aad(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: authentication failed (wrong account, purpose or key, or tampered)", ErrDecrypt, key)
	}
	return pt, nil
}

// keyID reports which key sealed blob.
func keyID(blob []byte) (uint32, bool) {
	if len(blob) < minBlobLen || blob[0] != blobVersion {
		return 0, false
	}
	return binary.BigEndian.Uint32(blob[1:5]), true
}

// Encrypted wraps a [Store] so that everything written through it is
// sealed with AES-256-GCM under the ring's primary key and bound to its
// key (tenant, user, purpose). Reads decrypt with whichever ring key
// sealed the blob. Versions pass through unchanged.
type Encrypted struct {
	store Store
	ring  *KeyRing
}

var _ Store = (*Encrypted)(nil)

// NewEncrypted returns s wrapped with encryption under ring.
func NewEncrypted(s Store, ring *KeyRing) *Encrypted { return &Encrypted{store: s, ring: ring} }

// Get implements [Store]: it returns the decrypted entry.
func (e *Encrypted) Get(ctx context.Context, key Key) (Entry, error) {
	ent, err := e.store.Get(ctx, key)
	if err != nil {
		return Entry{}, err
	}
	pt, err := e.ring.Open(key, ent.Data)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Data: pt, Version: ent.Version}, nil
}

// Put implements [Store]: it seals data and stores it with compare-and-swap.
func (e *Encrypted) Put(ctx context.Context, key Key, data []byte, prev int64) (int64, error) {
	blob, err := e.ring.Seal(key, data)
	if err != nil {
		return 0, err
	}
	return e.store.Put(ctx, key, blob, prev)
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
	Rewrapped int // re-sealed under the primary key
	Current   int // already under the primary key
	Conflicts int // changed by someone else meanwhile (and so already re-sealed by them)
}

// Rewrap re-seals every entry of s that is not under ring's primary key, so
// that older keys can then be dropped from the ring. s is the raw
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
		if id, ok := keyID(ent.Data); ok && id == ring.primary {
			st.Current++
			continue
		}
		pt, err := ring.Open(key, ent.Data)
		if err != nil {
			return st, err
		}
		blob, err := ring.Seal(key, pt)
		clear(pt)
		if err != nil {
			return st, err
		}
		if _, err := s.Put(ctx, key, blob, ent.Version); errors.Is(err, ErrConflict) {
			st.Conflicts++
			continue
		} else if err != nil {
			return st, err
		}
		st.Rewrapped++
	}
	return st, nil
}
