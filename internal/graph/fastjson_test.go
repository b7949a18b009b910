package graph

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkSamePaths holds the fast decoder to the slow path: whenever it
// answers for a page, its answer is exactly what decoding every item with
// encoding/json, then leniently, gives. (When it does not answer, DecodePage
// takes the slow path's answer itself.) It returns whether the fast path
// answered and how many items it handed to the slow path.
func checkSamePaths(t *testing.T, data []byte) (fast bool, slowItems int) {
	t.Helper()
	got, slowItems, ok := decodeMessagesFast(data)
	want, err := decodeItems[Message](data)
	if !ok {
		return false, 0
	}
	if err != nil {
		t.Fatalf("fast path accepted what the slow path refuses (%v): %q", err, data)
	}
	assert.Equal(t, want, got, "%q", data)
	return true, slowItems
}

func TestFastDecoderMatchesSlowPath(t *testing.T) {
	tests := []struct {
		name string
		in   string
		slow int // items the fast path leaves to the slow path
	}{
		{"realistic page", string(messagePage(5)), 0},
		{"drifted page", string(driftedMessagePage(10)), 0},
		{"empty", `{"value":[]}`, 0},
		{"no value", `{}`, 0},
		{"null value", `{"value":null,"@odata.deltaLink":"https://g/x?$deltatoken=1"}`, 0},
		{"escapes", `{"value":[{"id":"m1","subject":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n","from":{"emailAddress":{"name":"Zoë","address":"z@x.de"}}}]}`, 0},
		{"escaped key", `{"value":[{"\u0069d":"m1","sub\u006aect":"s"}]}`, 0},
		{"null keeps a string", `{"value":[{"id":"m1","subject":"x","subject":null}]}`, 0},
		{"repeated object merges", `{"value":[{"id":"m1","from":{"emailAddress":{"name":"a"}},"from":{"emailAddress":{"address":"b"}}}]}`, 0},
		{"repeated removed merges", `{"value":[{"id":"m1","@removed":{"reason":"deleted"},"@removed":{}}]}`, 0},
		{"body", `{"value":[{"id":"m1","body":{"contentType":"HTML","content":"<p>x</p>"}}]}`, 0},
		{"null body clears", `{"value":[{"id":"m1","body":{"contentType":"HTML","content":"x"},"body":null}]}`, 0},
		{"body after null", `{"value":[{"id":"m1","body":{"content":"x"},"body":null,"body":{"contentType":"Text"}}]}`, 0},
		{"unknown values", `{"value":[{"id":"m1","unknown":{"a":[1,-2.5e3,true,false,null,"s\"",{}]}}]}`, 0},
		{"lists", `{"value":[{"id":"m1","categories":["a",null,"b"],"toRecipients":null,"ccRecipients":[],"replyTo":[null,{"emailAddress":null}]}]}`, 0},
		{"list after empty or null", `{"value":[{"id":"m1","toRecipients":[],"toRecipients":[{"emailAddress":{"name":"n"}}],"categories":[],"categories":["c"]}]}`, 0},
		{"nulls", `{"value":[{"id":"m1","receivedDateTime":null,"isRead":null,"from":null,"sender":{"emailAddress":null}}]}`, 0},
		{"case variants", `{"Value":[{"ID":"m1","Subject":"s","IsRead":true,"FROM":{"EmailAddress":{"Name":"n","ADDRESS":"a"}},"@Removed":{"Reason":"r"}}],"@odata.NEXTLINK":"l"}`, 0},
		{"unicode fold", `{"value":[{"id":"m1","ſubject":"long s","hasAttachmentſ":true}]}`, 0},
		{"booleans", `{"value":[{"id":"m1","isRead":"TRUE","isDraft":"yes","hasAttachments":1},{"id":"m2","isRead":"0","isDraft":"No","hasAttachments":""},{"id":"m3","isRead":0,"isDraft":"False"}]}`, 0},
		{"timestamps", `{"value":[{"id":"m1","receivedDateTime":"2026-11-20T10:00:00.0000000","sentDateTime":"2026-11-20T10:00:00.1234567Z","lastModifiedDateTime":"2026-11-20T12:00:00+02:00"}]}`, 0},
		{"date only", `{"value":[{"id":"m1","receivedDateTime":"2026-11-20","sentDateTime":""}]}`, 0},
		{"no id", `{"value":[{"subject":"no id"},{"id":""},{"id":"m3"}]}`, 0},
		{"number for a string", `{"value":[{"id":"m1","subject":12345},{"id":"m2"}]}`, 1},
		{"bare address", `{"value":[{"id":"m1","from":"a@b.c","toRecipients":["c@d.e"]}]}`, 1},
		{"unreadable boolean", `{"value":[{"id":"m1","isRead":"maybe"},{"id":"m2","isRead":" true"},{"id":"m3","isRead":2}]}`, 3},
		{"unreadable timestamp", `{"value":[{"id":"m1","receivedDateTime":"not a date"},{"id":"m2","receivedDateTime":"2026-02-30T00:00:00Z"}]}`, 2},
		{"escaped timestamp", `{"value":[{"id":"m1","receivedDateTime":"2026-11-20T10:00:00\u005a"}]}`, 1},
		{"not objects", `{"value":["s",null,[],1,{"id":"m5"}]}`, 4},
		{"numeric id", `{"value":[{"id":2}]}`, 1},
		{"repeated list merges", `{"value":[{"id":"m1","toRecipients":[{"emailAddress":{"name":"a"}}],"toRecipients":[{"emailAddress":{"address":"b"}}]}]}`, 1},
		{"repeated categories", `{"value":[{"id":"m1","categories":["a","b"],"categories":[null]}]}`, 1},
		{"lone surrogate", `{"value":[{"id":"m1","subject":"lone \ud800 surrogate"}]}`, 1},
		{"invalid utf8", "{\"value\":[{\"id\":\"m1\",\"subject\":\"bad utf8 \xff\"},{\"id\":\"m2\",\"x\":\"\xff\"}]}", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, slow := checkSamePaths(t, []byte(tt.in))
			require.True(t, fast, "the fast path should take the page")
			assert.Equal(t, tt.slow, slow, "items left to the slow path")
		})
	}
}

// A page that is not valid JSON, or whose envelope is odd, goes whole to
// the slow path.
func TestFastDecoderLeavesOddPages(t *testing.T) {
	for _, in := range []string{
		`{"value":[{"id":"m1"}]} trailing`,
		`{"value":[{"id":"m1",}]}`,
		`{"value":[{"id":"m1","n":01}]}`,
		`{"value":[{"id":"m1","isRead":01}]}`,
		`{"value":["bad \x escape"]}`,
		`{"value":[{"id":"m1"}],"value":[]}`,
		`{"value":{"id":"m1"}}`,
		`{"value":[],"@odata.nextLink":5}`,
		`null`,
	} {
		_, _, ok := decodeMessagesFast([]byte(in))
		assert.False(t, ok, in)
	}
}

func FuzzFastDecoder(f *testing.F) {
	f.Add(messagePage(2))
	f.Add(driftedMessagePage(5))
	f.Add([]byte(`{"value":[{"id":"m1","subject":"a\u00e9\ud83d\ude00","toRecipients":[{"emailAddress":{"name":"n","address":"a"}}]}]}`))
	f.Add([]byte(`{"value":[{"id":"m1","x":[1,{"y":-0.5E+2}],"@removed":{"reason":"deleted"}}],"@odata.nextLink":"l"}`))
	f.Add([]byte(`{"value":[{"ID":"m1","IsRead":"False","body":null,"from":null,"receivedDateTime":"2026-11-20T10:00:00.0000000"},"x",{"id":3}]}`))
	f.Add([]byte(`{"value":[{"id":"m1","toRecipients":[{"emailAddress":{"name":"a"}}],"toRecipients":[{"emailAddress":{"address":"b"}}],"categories":["a"],"categories":[null]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSamePaths(t, data)
	})
}

// FuzzParseFixedTime holds the direct timestamp parser to time.Parse with
// parseTime's layouts.
func FuzzParseFixedTime(f *testing.F) {
	for _, s := range []string{"2026-11-20T10:00:00Z", "2026-11-20T10:00:00.1234567Z", "2026-11-20T10:00:00.0000000",
		"2024-02-29T23:59:59.999999999", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T10:00:00.Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseFixedTime(s)
		gotB, okB := parseFixedTime([]byte(s))
		if ok != okB || got != gotB {
			t.Fatalf("string and bytes disagree on %q", s)
		}
		if !ok {
			return
		}
		want, wok := parseTimeLayouts(s)
		if !wok {
			t.Fatalf("parseFixedTime(%q) = %v, time.Parse refuses it", s, got)
		}
		assert.Equal(t, want, got, s)
	})
}

func TestParseFixedTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-20T10:22:33Z", time.Date(2026, 11, 20, 10, 22, 33, 0, time.UTC), true},
		{"2026-11-20T10:22:33.1234567Z", time.Date(2026, 11, 20, 10, 22, 33, 123456700, time.UTC), true},
		{"2026-11-20T10:22:33.1234567", time.Date(2026, 11, 20, 10, 22, 33, 123456700, time.UTC), true},
		{"2026-11-20T10:22:33", time.Date(2026, 11, 20, 10, 22, 33, 0, time.UTC), true},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		// Left to time.Parse:
		{"2026-11-20T10:22:33+02:00", time.Time{}, false},
		{"2026-11-20T10:22:33.1234567890Z", time.Time{}, false},
		{"2023-02-29T00:00:00Z", time.Time{}, false},
		{"2026-11-20t10:22:33Z", time.Time{}, false},
		{"2026-11-20", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseFixedTime(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

// Two strings that fall in the same set of the intern table are both kept:
// reading them in turn allocates nothing.
func TestInternTableKeepsCollidingStrings(t *testing.T) {
	tab := &internTable{seed: maphash.MakeSeed()}
	set := func(s string) uint64 { return maphash.Bytes(tab.seed, []byte(s)) & (internSets - 1) }
	a := "ann.vendor@acme-industrial.co.uk"
	b := ""
	for i := 0; b == ""; i++ {
		if c := fmt.Sprintf("sender%d@contoso.com", i); set(c) == set(a) {
			b = c
		}
	}
	first := []string{tab.get([]byte(a)), tab.get([]byte(b))}
	ab, bb := []byte(a), []byte(b)
	allocs := testing.AllocsPerRun(100, func() {
		if tab.get(ab) != a || tab.get(bb) != b {
			t.Fatal("wrong string")
		}
	})
	assert.Equal(t, 0.0, allocs)
	assert.Equal(t, []string{a, b}, first)
	assert.Same(t, unsafe.StringData(first[0]), unsafe.StringData(tab.get(ab)), "the first copy is shared")
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

// A page's Value is sized to the page, from the last page's item size: an
// idle delta page (no items, a deltaLink) gets room for a few items, not
// the 1,000 of a full page.
func TestPageValueIsSizedToThePage(t *testing.T) {
	full, _, ok := decodeMessagesFast(messagePage(1000))
	require.True(t, ok)
	require.Len(t, full.Value, 1000)
	assert.LessOrEqual(t, cap(full.Value), 1024)
	idle, _, ok := decodeMessagesFast([]byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(message)","value":[],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users('u')/mailFolders('f')/messages/delta?$deltatoken=abcdefghijklmnopqrstuvwxyz0123456789"}`))
	require.True(t, ok)
	assert.Empty(t, idle.Value)
	assert.LessOrEqual(t, cap(idle.Value), 4)
	small, _, ok := decodeMessagesFast(messagePage(10))
	require.True(t, ok)
	require.Len(t, small.Value, 10)
	assert.LessOrEqual(t, cap(small.Value), 20)
}
