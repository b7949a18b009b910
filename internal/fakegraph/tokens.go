package fakegraph

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
)

// Skip and delta tokens carry their whole state, so the server keeps no
// per-token memory and a token can be replayed any number of times. The
// encoding is binary, checksummed with a server key (garbage is told from a
// real token), then base64url with padding: tokens contain '-', '_' and
// end in '=' about two times in three, so clients that mangle query escaping
// fail.

type syncState struct {
	kind     byte   // 'm' messages, 'e' events, 'c' contacts, 'l' plain list
	scope    uint64 // hash of the mailbox and container the token belongs to
	gen      uint64 // the mailbox's token generation
	from     uint64 // the round reports changes after this seq; 0 = initial round
	to       uint64 // ...up to this one (the round's snapshot); 0 = not started
	after    uint64 // cursor: the last seq the round has looked at (lists: the offset)
	emitted  uint64 // items returned so far in the round
	sel      string // the original $select
	filterOp byte   // 0, 'e' (ge) or 't' (gt) on receivedDateTime
	filterAt int64  // unix nanoseconds
	start    int64  // calendarView window, unix seconds
	end      int64
}

const tokenVersion = 1

var errBadToken = errors.New("fakegraph: bad token")

func (s *Server) encodeToken(st syncState) string {
	b := make([]byte, 0, 64+len(st.sel))
	b = append(b, tokenVersion, st.kind, st.filterOp)
	b = binary.BigEndian.AppendUint64(b, st.scope)
	for _, v := range []uint64{st.gen, st.from, st.to, st.after, st.emitted} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(st.sel)))
	b = append(b, st.sel...)
	for _, v := range []int64{st.filterAt, st.start, st.end} {
		b = binary.AppendVarint(b, v)
	}
	n := len(b)
	b = binary.BigEndian.AppendUint64(b, s.tokenMAC(b))[:n+6]
	return base64.URLEncoding.EncodeToString(b)
}

func (s *Server) tokenMAC(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return splitmix64(h.Sum64() ^ s.tokenKey)
}

func (s *Server) decodeToken(tok string) (syncState, error) {
	var st syncState
	b, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		if b, err = base64.RawURLEncoding.DecodeString(tok); err != nil {
			return st, errBadToken
		}
	}
	if len(b) < 3+8+6 {
		return st, errBadToken
	}
	body, mac := b[:len(b)-6], b[len(b)-6:]
	want := binary.BigEndian.AppendUint64(nil, s.tokenMAC(body))[:6]
	if string(mac) != string(want) || body[0] != tokenVersion {
		return st, errBadToken
	}
	st.kind, st.filterOp = body[1], body[2]
	st.scope = binary.BigEndian.Uint64(body[3:])
	r := body[11:]
	uv := func() uint64 { return readVarint(&r, &err, binary.Uvarint) }
	sv := func() int64 { return readVarint(&r, &err, binary.Varint) }
	st.gen, st.from, st.to, st.after, st.emitted = uv(), uv(), uv(), uv(), uv()
	n := uv()
	if err != nil || n > uint64(len(r)) {
		return st, errBadToken
	}
	st.sel, r = string(r[:n]), r[n:]
	st.filterAt, st.start, st.end = sv(), sv(), sv()
	if err != nil || len(r) != 0 {
		return st, errBadToken
	}
	return st, nil
}

// readVarint decodes one varint off the front of *r; on failure it sets
// *err and leaves *r as it was.
func readVarint[V uint64 | int64](r *[]byte, err *error, decode func([]byte) (V, int)) V {
	v, n := decode(*r)
	if n <= 0 {
		*err = errBadToken
		return 0
	}
	*r = (*r)[n:]
	return v
}

// scopeOf binds a token to one mailbox and container.
func scopeOf(userID, containerID string) uint64 {
	return hashKey(userID + "\x00" + containerID)
}
