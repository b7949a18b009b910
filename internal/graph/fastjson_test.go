package graph

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fast decoder must give exactly what the encoding/json path gives
// whenever it accepts an input.
func checkSamePaths(t *testing.T, data []byte) {
	t.Helper()
	fast, ok := decodeMessagesFast(data)
	if !ok {
		return
	}
	slow, err := decodeItems[Message](data)
	if err != nil {
		t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, data)
	}
	if len(slow.ItemErrors) > 0 {
		t.Fatalf("fast path accepted a page with item errors %v: %q", slow.ItemErrors, data)
	}
	if len(fast.Value) == 0 && len(slow.Value) == 0 {
		fast.Value, slow.Value = nil, nil
	}
	assert.Equal(t, slow, fast, "%q", data)
}

func TestFastDecoderMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		string(messagePage(5)),
		`{"value":[]}`,
		`{}`,
		`{"value":null,"@odata.deltaLink":"https://g/x?$deltatoken=1"}`,
		`{"value":[{"id":"m1","subject":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n","from":{"emailAddress":{"name":"Zoë","address":"z@x.de"}}}]}`,
		`{"value":[{"id":"m1","subject":"x","subject":null}]}`,
		`{"value":[{"id":"m1","from":{"emailAddress":{"name":"a"}},"from":{"emailAddress":{"address":"b"}}}]}`,
		`{"value":[{"id":"m1","@removed":{"reason":"deleted"},"@removed":{}}]}`,
		`{"value":[{"id":"m1","body":{"contentType":"HTML","content":"<p>x</p>"}}]}`,
		`{"value":[{"id":"m1","body":{"contentType":"HTML"},"body":null}]}`,
		`{"value":[{"id":"m1","unknown":{"a":[1,-2.5e3,true,false,null,"s",{}]}}]}`,
		`{"value":[{"id":"m1","categories":["a","b"],"toRecipients":null,"ccRecipients":[]}]}`,
		`{"value":[{"id":"m1","receivedDateTime":null,"isRead":null}]}`,
	}
	for _, in := range inputs {
		_, ok := decodeMessagesFast([]byte(in))
		require.True(t, ok, "fast path should take %q", in)
		checkSamePaths(t, []byte(in))
	}
}

func TestFastDecoderDefersOddInputs(t *testing.T) {
	for _, in := range []string{
		`{"value":[{"id":"m1","Subject":"case variant"}]}`,
		`{"value":[{"id":"m1","isRead":"true"}]}`,
		`{"value":[{"id":"m1","from":"a@b.c"}]}`,
		`{"value":[{"id":"m1","subject":"lone \ud800 surrogate"}]}`,
		"{\"value\":[{\"id\":\"m1\",\"subject\":\"bad utf8 \xff\"}]}",
		`{"value":[{"subject":"no id"}]}`,
		`{"value":[{"id":"m1"}]} trailing`,
		`{"value":[{"id":"m1",}]}`,
		`{"value":[{"id":"m1","n":01}]}`,
	} {
		_, ok := decodeMessagesFast([]byte(in))
		assert.False(t, ok, in)
	}
}

func FuzzFastDecoder(f *testing.F) {
	f.Add(messagePage(2))
	f.Add([]byte(`{"value":[{"id":"m1","subject":"a\u00e9\ud83d\ude00","toRecipients":[{"emailAddress":{"name":"n","address":"a"}}]}]}`))
	f.Add([]byte(`{"value":[{"id":"m1","x":[1,{"y":-0.5E+2}],"@removed":{"reason":"deleted"}}],"@odata.nextLink":"l"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSamePaths(t, data)
	})
}

func BenchmarkDecodeDeltaPageEncodingJSON(b *testing.B) {
	// The reference: encoding/json into the same lean wire structs.
	data := messagePage(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p struct {
			Value []messageJSON `json:"value"`
		}
		if err := json.Unmarshal(data, &p); err != nil {
			b.Fatal(err)
		}
		for i := range p.Value {
			_ = p.Value[i].vocab()
		}
	}
}
