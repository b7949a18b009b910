package tokens

import (
	"bytes"
	"context"
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
	b1, _ := ring.Seal(alice, []byte("x"))
	b2, _ := ring.Seal(alice, []byte("x"))
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
	blob, _ := ring.Seal(alice, []byte("x"))
	_, err = ring.Open(Key{Account: alice.Account, Purpose: PurposeOAuth2}, blob)
	assert.ErrorIs(t, err, ErrDecrypt)
	_, err = ring.Open(Key{Account: m365link.Account{TenantID: "t2", UserID: "alice"}, Purpose: PurposeMSAL}, blob)
	assert.ErrorIs(t, err, ErrDecrypt)
	// Case of the GUIDs does not matter.
	pt, err := ring.Open(Key{Account: m365link.Account{TenantID: "T1", UserID: "ALICE"}, Purpose: PurposeMSAL}, blob)
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
	b, _ := old.Seal(keys[1], []byte("x"))
	_, err = retired.Open(keys[1], b)
	assert.ErrorIs(t, err, ErrDecrypt)
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
	for _, b := range [][]byte{nil, {1}, bytes.Repeat([]byte{1}, minBlobLen), append([]byte{2}, make([]byte, 40)...)} {
		_, err := r.Open(alice, b)
		assert.ErrorIs(t, err, ErrDecrypt)
	}
	good, _ := r.Seal(alice, []byte("secret"))
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		_, err := r.Open(alice, bad)
		assert.ErrorIs(t, err, ErrDecrypt, "flipped byte %d", i)
	}
}

// FuzzOpen feeds Open arbitrary bytes. The properties: it never panics;
// a failure matches ErrDecrypt and yields no plaintext; and whatever opens
// is authentic: it holds the one plaintext ever sealed for alice under
// these keys, and flipping any single bit of it makes it fail. (Comparing
// with the seed blob's bytes is no property: every fuzzing process seals
// its own seed under a fresh random nonce, and the coordinator's seed
// reaches the workers as input.)
func FuzzOpen(f *testing.F) {
	r, _ := NewKeyRing(1, keyA)
	r, _ = r.WithDecryptOnly(2, keyB)
	good, _ := r.Seal(alice, []byte("secret"))
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, blob []byte) {
		pt, err := r.Open(alice, blob)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) || pt != nil {
				t.Fatalf("Open = %q, %v; want nil and ErrDecrypt", pt, err)
			}
			return
		}
		if string(pt) != "secret" {
			t.Fatalf("a blob opened to %q, which was never sealed", pt)
		}
		for i := range len(blob) * 8 {
			bad := bytes.Clone(blob)
			bad[i/8] ^= 1 << (i % 8)
			if _, err := r.Open(alice, bad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flipping bit %d of an authentic blob: %v, want ErrDecrypt", i, err)
			}
		}
	})
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

	require.NoError(t, DeleteAccount(ctx, m, alice.Account))
	_, err = m.Get(ctx, alice)
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, m.Delete(ctx, alice), "deleting a missing entry is fine")
}
