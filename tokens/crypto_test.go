package tokens

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

var (
	keyA = bytes.Repeat([]byte{0xA1}, 32)
	keyB = bytes.Repeat([]byte{0xB2}, 32)

	alice = Key{Account: m365link.Account{TenantID: "t1", UserID: "alice"}, Purpose: PurposeMSAL}
	bob   = Key{Account: m365link.Account{TenantID: "t1", UserID: "bob"}, Purpose: PurposeMSAL}
)

func TestEncryptedRoundTripAndCAS(t *testing.T) {
	ctx := context.Background()
	raw := &Memory{}
	ring, err := NewKeyRing(1, keyA)
	require.NoError(t, err)
	s := NewEncrypted(raw, ring)

	v, err := s.Put(ctx, alice, []byte("refresh-token-alice"), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)

	got, err := s.Get(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, Entry{Data: []byte("refresh-token-alice"), Version: 1}, got)

	stored, err := raw.Get(ctx, alice)
	require.NoError(t, err)
	assert.NotContains(t, string(stored.Data), "refresh-token-alice")
	assert.Len(t, stored.Data, headerLen+len("refresh-token-alice")+16)

	_, err = s.Put(ctx, alice, []byte("stale writer"), 0)
	assert.ErrorIs(t, err, ErrConflict)
	v, err = s.Put(ctx, alice, []byte("rotated"), 1)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)

	// Same plaintext twice gives different ciphertexts (random nonces).
	b1, _ := ring.Seal(alice, 1, []byte("x"))
	b2, _ := ring.Seal(alice, 1, []byte("x"))
	assert.NotEqual(t, b1, b2)
}

func TestSwappedCiphertextsFailToDecrypt(t *testing.T) {
	ctx := context.Background()
	raw := &Memory{}
	ring, _ := NewKeyRing(1, keyA)
	s := NewEncrypted(raw, ring)
	_, err := s.Put(ctx, alice, []byte("alice-secret"), 0)
	require.NoError(t, err)
	_, err = s.Put(ctx, bob, []byte("bob-secret"), 0)
	require.NoError(t, err)

	a, _ := raw.Get(ctx, alice)
	b, _ := raw.Get(ctx, bob)
	_, err = raw.Put(ctx, alice, b.Data, a.Version)
	require.NoError(t, err)
	_, err = raw.Put(ctx, bob, a.Data, b.Version)
	require.NoError(t, err)

	_, err = s.Get(ctx, alice)
	assert.ErrorIs(t, err, ErrDecrypt)
	_, err = s.Get(ctx, bob)
	assert.ErrorIs(t, err, ErrDecrypt)

	// Another purpose or tenant for the same user fails too.
	blob, _ := ring.Seal(alice, 1, []byte("x"))
	_, err = ring.Open(Key{Account: alice.Account, Purpose: PurposeOAuth2}, 1, blob)
	assert.ErrorIs(t, err, ErrDecrypt)
	_, err = ring.Open(Key{Account: m365link.Account{TenantID: "t2", UserID: "alice"}, Purpose: PurposeMSAL}, 1, blob)
	assert.ErrorIs(t, err, ErrDecrypt)
	// Case of the GUIDs does not matter.
	pt, err := ring.Open(Key{Account: m365link.Account{TenantID: "T1", UserID: "ALICE"}, Purpose: PurposeMSAL}, 1, blob)
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), pt)
}

func TestRewrapThenRetireOldKey(t *testing.T) {
	ctx := context.Background()
	raw := &Memory{}
	old, _ := NewKeyRing(1, keyA)
	var keys []Key
	for i := range 10 {
		k := Key{Account: m365link.Account{TenantID: "t1", UserID: fmt.Sprintf("user-%02d", i)}, Purpose: PurposeMSAL}
		keys = append(keys, k)
		_, err := NewEncrypted(raw, old).Put(ctx, k, []byte("token-"+k.Account.UserID), 0)
		require.NoError(t, err)
	}
	// Rotate: key 2 becomes primary, key 1 decrypt-only.
	rotated, err := NewKeyRing(2, keyB)
	require.NoError(t, err)
	rotated, err = rotated.WithDecryptOnly(1, keyA)
	require.NoError(t, err)
	// A write after rotation is already under key 2.
	_, err = NewEncrypted(raw, rotated).Put(ctx, keys[0], []byte("token-user-00-v2"), 1)
	require.NoError(t, err)

	st, err := Rewrap(ctx, raw, rotated)
	require.NoError(t, err)
	assert.Equal(t, RewrapStats{Rewrapped: 9, Current: 1}, st)

	st, err = Rewrap(ctx, raw, rotated)
	require.NoError(t, err)
	assert.Equal(t, RewrapStats{Current: 10}, st, "a second pass has nothing to do")

	retired, _ := NewKeyRing(2, keyB)
	s := NewEncrypted(raw, retired)
	for i, k := range keys {
		got, err := s.Get(ctx, k)
		require.NoError(t, err)
		want := "token-" + k.Account.UserID
		if i == 0 {
			want = "token-user-00-v2"
		}
		assert.Equal(t, want, string(got.Data))
	}
	// Without rewrap the retired ring could not read old blobs.
	b, _ := old.Seal(keys[1], 1, []byte("x"))
	_, err = retired.Open(keys[1], 1, b)
	assert.EqualError(t, err, "tokens: cannot decrypt stored entry: t1/user-01:msal: key ID 1 is not in the ring")
}

func TestKeyRingValidationAndNoKeyMaterialInOutput(t *testing.T) {
	_, err := NewKeyRing(1, []byte("short"))
	assert.EqualError(t, err, "tokens: key 1 is 5 bytes; AES-256 needs 32")
	r, _ := NewKeyRing(7, keyA)
	_, err = r.WithDecryptOnly(7, keyB)
	assert.Error(t, err)
	r, _ = r.WithDecryptOnly(3, keyB)
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v", r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r)} {
		assert.Equal(t, "tokens.KeyRing{primary: 7, keys: [3 7]}", s)
	}
	assert.Equal(t, uint32(7), r.PrimaryID())
}

func TestOpenRejectsGarbage(t *testing.T) {
	r, _ := NewKeyRing(1, keyA)
	for _, b := range [][]byte{nil, {1}, bytes.Repeat([]byte{1}, minBlobLen), append([]byte{2}, make([]byte, 40)...), append([]byte{3}, make([]byte, 40)...)} {
		_, err := r.Open(alice, 1, b)
		assert.ErrorIs(t, err, ErrDecrypt)
	}
	good, _ := r.Seal(alice, 1, []byte("secret"))
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		_, err := r.Open(alice, 1, bad)
		assert.ErrorIs(t, err, ErrDecrypt, "flipped byte %d", i)
	}
	// The format byte is authenticated: a format 2 blob passed off as
	// format 1 (which binds no version) does not open.
	downgraded := bytes.Clone(good)
	downgraded[0] = formatV1
	_, err := r.Open(alice, 1, downgraded)
	assert.ErrorIs(t, err, ErrDecrypt)
}

// FuzzOpen feeds Open arbitrary bytes. The properties: it never panics;
// a failure matches ErrDecrypt and yields no plaintext; and whatever opens
// is authentic: it holds the one plaintext ever sealed for alice under
// these keys (in format 2 at version 1, or in legacy format 1), and
// flipping any single bit of it makes it fail. (Comparing with the seed
// blob's bytes is no property: every fuzzing process seals its own seed
// under a fresh random nonce, and the coordinator's seed reaches the
// workers as input.)
func FuzzOpen(f *testing.F) {
	r, _ := NewKeyRing(1, keyA)
	r, _ = r.WithDecryptOnly(2, keyB)
	good, _ := r.Seal(alice, 1, []byte("secret"))
	legacy, _ := hex.DecodeString(legacyAliceKeyA)
	f.Add(good)
	f.Add(legacy)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, blob []byte) {
		pt, err := r.Open(alice, 1, blob)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) || pt != nil {
				t.Fatalf("Open = %q, %v; want nil and ErrDecrypt", pt, err)
			}
			return
		}
		if string(pt) != "secret" && string(pt) != "legacy msal cache" {
			t.Fatalf("a blob opened to %q, which was never sealed", pt)
		}
		for i := range len(blob) * 8 {
			bad := bytes.Clone(blob)
			bad[i/8] ^= 1 << (i % 8)
			if _, err := r.Open(alice, 1, bad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flipping bit %d of an authentic blob: %v, want ErrDecrypt", i, err)
			}
		}
	})
}

// legacyAliceKeyA is a format 1 blob as the library wrote before format
// 2: "legacy msal cache" sealed for alice under keyA with ID 1.
const legacyAliceKeyA = "010000000100a41d180163096895e8766cb5f8d3931d2c22dec4f0c6b648ad5301c7564e92b379307c1ee2ead4511f260b3d"

// TestRolledBackBlobDoesNotDecrypt: the bytes of an older version of an
// entry, written back over the current one (by a raw write, which moves
// the version on, or by rewriting the bytes alone), do not decrypt: the
// blob is bound to the version it was written at.
func TestRolledBackBlobDoesNotDecrypt(t *testing.T) {
	ctx := context.Background()
	raw := &Memory{}
	ring, _ := NewKeyRing(1, keyA)
	s := NewEncrypted(raw, ring)
	_, err := s.Put(ctx, alice, []byte("refresh-token-1"), 0)
	require.NoError(t, err)
	v1, err := raw.Get(ctx, alice)
	require.NoError(t, err)
	_, err = s.Put(ctx, alice, []byte("refresh-token-2"), 1)
	require.NoError(t, err)

	// The bytes alone rolled back: the row still says version 2.
	raw.mu.Lock()
	raw.entries[alice] = Entry{Data: v1.Data, Version: 2}
	raw.mu.Unlock()
	got, err := s.Get(ctx, alice)
	assert.EqualError(t, err, "tokens: cannot decrypt stored entry: t1/alice:msal: authentication failed (another account, purpose or version of the entry, another key, or tampered)")
	assert.Equal(t, Entry{Version: 2}, got, "the version is returned so that a writer can replace the entry")

	// Written back through the store: version 3.
	_, err = raw.Put(ctx, alice, v1.Data, 2)
	require.NoError(t, err)
	_, err = s.Get(ctx, alice)
	assert.ErrorIs(t, err, ErrDecrypt)

	// Reconnecting replaces it from the version Get reported.
	got, _ = s.Get(ctx, alice)
	v, err := s.Put(ctx, alice, []byte("refresh-token-new"), got.Version)
	require.NoError(t, err)
	got, err = s.Get(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, Entry{Data: []byte("refresh-token-new"), Version: v}, got)
}

// TestLegacyFormatIsReadAndRewritten: entries written in format 1 (no
// version bound) still decrypt; Put and Rewrap write format 2, even under
// the same key.
func TestLegacyFormatIsReadAndRewritten(t *testing.T) {
	ctx := context.Background()
	legacy, err := hex.DecodeString(legacyAliceKeyA)
	require.NoError(t, err)
	require.Equal(t, byte(formatV1), legacy[0])
	raw := &Memory{}
	raw.entries = map[Key]Entry{alice: {Data: legacy, Version: 7}, bob: {Data: legacy, Version: 1}}
	ring, _ := NewKeyRing(1, keyA)
	s := NewEncrypted(raw, ring)

	got, err := s.Get(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, Entry{Data: []byte("legacy msal cache"), Version: 7}, got)
	_, err = s.Get(ctx, bob)
	assert.ErrorIs(t, err, ErrDecrypt, "format 1 still binds the account")

	st, err := Rewrap(ctx, raw, ring)
	require.ErrorIs(t, err, ErrDecrypt, "bob's blob is reported, not rewritten")
	assert.Equal(t, RewrapStats{Rewrapped: 1}, st)
	stored, _ := raw.Get(ctx, alice)
	assert.Equal(t, byte(formatV2), stored.Data[0])
	assert.Equal(t, int64(8), stored.Version)
	got, err = s.Get(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, Entry{Data: []byte("legacy msal cache"), Version: 8}, got)
	require.NoError(t, raw.Delete(ctx, bob))
	st, err = Rewrap(ctx, raw, ring)
	require.NoError(t, err)
	assert.Equal(t, RewrapStats{Current: 1}, st)

	// An old blob of the entry written back is format 1 again: it opens,
	// as format 1 always did. Rotating to a new key, rewrapping and
	// dropping the old key closes that door for good.
	raw.mu.Lock()
	raw.entries[alice] = Entry{Data: legacy, Version: 8}
	raw.mu.Unlock()
	rotated, _ := NewKeyRing(2, keyB)
	rotated, _ = rotated.WithDecryptOnly(1, keyA)
	_, err = Rewrap(ctx, raw, rotated)
	require.NoError(t, err)
	onlyNew, _ := NewKeyRing(2, keyB)
	_, err = onlyNew.Open(alice, 1, legacy)
	assert.EqualError(t, err, "tokens: cannot decrypt stored entry: t1/alice:msal: key ID 1 is not in the ring")
}

// badVersions is a store that breaks the contract: Put answers prev+2.
type badVersions struct{ Store }

func (b badVersions) Put(ctx context.Context, k Key, d []byte, prev int64) (int64, error) {
	if _, err := b.Store.Put(ctx, k, d, prev); err != nil {
		return 0, err
	}
	return prev + 2, nil
}

func TestPutReportsAStoreThatBreaksTheVersionContract(t *testing.T) {
	ring, _ := NewKeyRing(1, keyA)
	_, err := NewEncrypted(badVersions{&Memory{}}, ring).Put(context.Background(), alice, []byte("x"), 0)
	assert.EqualError(t, err, "tokens: the store gave t1/alice:msal version 2 after a Put from 0; the Store contract says 1, and the blob, sealed for that version, will not decrypt")
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	m := &Memory{}
	_, err := m.Get(ctx, alice)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = m.Put(ctx, alice, []byte("a"), 5)
	assert.ErrorIs(t, err, ErrConflict)
	v, err := m.Put(ctx, Key{Account: m365link.Account{TenantID: "T1", UserID: "ALICE"}, Purpose: PurposeMSAL}, []byte("a"), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	got, err := m.Get(ctx, alice)
	require.NoError(t, err, "keys compare case-insensitively")
	assert.Equal(t, Entry{Data: []byte("a"), Version: 1}, got)
	got.Data[0] = 'z'
	again, _ := m.Get(ctx, alice)
	assert.Equal(t, []byte("a"), again.Data, "callers cannot mutate the stored bytes")

	_, _ = m.Put(ctx, bob, []byte("b"), 0)
	other := Key{Account: m365link.Account{TenantID: "t2"}, Purpose: PurposeMSAL}
	_, _ = m.Put(ctx, other, []byte("c"), 0)
	var keys []Key
	for k, err := range m.Keys(ctx, "T1") {
		require.NoError(t, err)
		keys = append(keys, k)
	}
	assert.Equal(t, []Key{alice, bob}, keys)

	require.NoError(t, m.Delete(ctx, alice))
	_, err = m.Get(ctx, alice)
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, m.Delete(ctx, alice), "deleting a missing entry is fine")
}
