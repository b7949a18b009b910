package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// noopSink accepts everything and keeps nothing.
type noopSink struct{}

func (noopSink) Apply(context.Context, *m365sync.Page) error            { return nil }
func (noopSink) Reset(context.Context, m365sync.Reset) error            { return nil }
func (noopSink) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }

func seedInbox(tb testing.TB, n int) *harness {
	h := newHarness(tb, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 2 * n, Vendors: 20, Seed: 11})
	return h
}

// recorder keeps every answer the engine got, to replay them.
type recorder struct {
	base    http.RoundTripper
	mu      gosync.Mutex
	answers map[string][]byte // request URI -> body
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.answers[req.URL.RequestURI()] = body
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// replay records one sync of mailbox 0 against the fake, then serves the
// same bytes (links rewritten to its own origin) from memory, so that a
// benchmark against it measures the client, not the fake's rendering.
func replay(b *testing.B, h *harness, folders []m365sync.FolderSpec) *httptest.Server {
	rec := &recorder{base: h.fg.Client().Transport, answers: map[string][]byte{}}
	cfg := h.config(noopSink{}, &m365sync.MemoryState{})
	cfg.HTTPClient = &http.Client{Transport: rec}
	cfg.PageSize, cfg.Folders = 1000, folders
	require.NoError(b, h.engine(b, cfg).SyncOnce(context.Background(), h.mailbox(0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := rec.answers[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	for k, v := range rec.answers {
		rec.answers[k] = bytes.ReplaceAll(v, []byte(h.fg.Origin()), []byte(srv.URL))
	}
	return srv
}

// BenchmarkInitialSync100k syncs an Inbox of ~100,000 messages into a
// no-op sink, 1,000 a page, against recorded Graph answers replayed from
// memory over loopback HTTP, and reports messages per second, requests
// against the minimum (pages + 1: the folder lookup) and allocations per
// message. BenchmarkParseOnly100k decodes the same pages with
// encoding/json alone: the parse-only limit of PERFORMANCE.md.
func BenchmarkInitialSync100k(b *testing.B) {
	h := seedInbox(b, 100_000)
	mb := h.mailbox(0)
	msgs := len(h.seed.Mailboxes[0].Inbox)
	folders := []m365sync.FolderSpec{{WellKnown: "inbox"}}
	srv := replay(b, h, folders)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cfg := h.config(noopSink{}, &m365sync.MemoryState{})
		cfg.GraphBaseURL, cfg.HTTPClient = srv.URL+"/v1.0", srv.Client()
		cfg.PageSize, cfg.Folders = 1000, folders
		e := h.engine(b, cfg)
		if err := e.SyncOnce(context.Background(), mb); err != nil {
			b.Fatal(err)
		}
		c := e.Counters()
		if int(c.Items) != msgs {
			b.Fatalf("synced %d of %d", c.Items, msgs)
		}
		b.ReportMetric(float64(c.Requests), "requests")
		b.ReportMetric(float64(c.Pages+1), "min-requests")
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(msgs), "msgs")
}

// BenchmarkParseOnly100k fetches the same pages as raw bytes once, then
// decodes them with encoding/json into a minimal struct per message: the
// ceiling the engine's throughput is compared with.
func BenchmarkParseOnly100k(b *testing.B) {
	h := seedInbox(b, 100_000)
	mb := h.mailbox(0)
	var pages [][]byte
	next := h.fg.URL() + "/users/" + mb.UserID + "/mailFolders/inbox/messages/delta"
	for next != "" {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Prefer", "odata.maxpagesize=1000")
		resp, err := h.fg.Client().Do(req)
		require.NoError(b, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages = append(pages, body)
		var p struct {
			Next string `json:"@odata.nextLink"`
		}
		require.NoError(b, json.Unmarshal(body, &p))
		next = p.Next
	}
	msgs := len(h.seed.Mailboxes[0].Inbox)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, body := range pages {
			var p struct {
				Value []struct {
					ID      string `json:"id"`
					Subject string `json:"subject"`
					From    struct {
						EmailAddress struct{ Name, Address string } `json:"emailAddress"`
					} `json:"from"`
				} `json:"value"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			n += len(p.Value)
		}
		if n != msgs {
			b.Fatalf("decoded %d of %d", n, msgs)
		}
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestHeapDoesNotGrowWithMailboxSize syncs a mailbox of M365LINK_HEAP_MESSAGES
// messages (1,000,000 for the figure in PERFORMANCE.md; it takes minutes
// and gigabytes for the fake's own copy) and checks that the heap the
// engine adds stays flat: the peak minus what the fake holds after
// seeding. Without the variable it runs with 5,000 messages.
func TestHeapDoesNotGrowWithMailboxSize(t *testing.T) {
	n := 5_000
	if v := os.Getenv("M365LINK_HEAP_MESSAGES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	h := seedInbox(t, n)
	mb := h.mailbox(0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	pagesSeen := 0
	every := max(1, n/100_000) * 10
	cfg := h.config(noopSink{}, &m365sync.MemoryState{})
	cfg.PageSize = 1000
	cfg.Folders = []m365sync.FolderSpec{{WellKnown: "inbox"}}
	cfg.OnProgress = func(m365sync.Status) {
		pagesSeen++
		if pagesSeen%every == 0 {
			runtime.GC() // live heap: what the sync holds, not garbage awaiting collection
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	require.Equal(t, int64(len(h.seed.Mailboxes[0].Inbox)), e.Counters().Items)
	growth := int64(peak) - int64(base)
	t.Logf("%d messages, %d pages: live heap %d MB after seeding, peak growth during sync %d KB", e.Counters().Items, pagesSeen, base>>20, growth>>10)
	require.Less(t, growth, int64(64<<20), "the engine streams: its heap must not grow with the mailbox")
}
