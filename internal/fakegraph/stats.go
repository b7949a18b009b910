package fakegraph

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// MailboxStats counts what one mailbox saw since the server started or
// since [Server.ResetStats].
type MailboxStats struct {
	Requests    int // requests addressed to the mailbox, $batch items included
	InFlight    int // requests being served now
	MaxInFlight int // the most that were ever in flight at once
	Throttled   int // 429 responses served, from faults or limits
	Faults      int // injected faults that fired
	// Routes counts requests by method and route template, e.g.
	// "GET /users/{id}/mailFolders/{id}/messages/delta".
	Routes map[string]int
}

// RequestRecord is one request as the fake received it.
type RequestRecord struct {
	Method          string
	Path            string
	RawQuery        string
	Mailbox         string // the user ID it addressed ("" for none)
	Route           string // as in [MailboxStats.Routes]
	Prefer          string // the Prefer headers, joined with ", "
	ClientRequestID string
	Header          http.Header
	Batch           bool // a $batch item
	Status          int  // 0 when the connection was reset
	Time            time.Time
}

type accounting struct {
	mu      sync.Mutex
	boxes   map[string]*boxState
	records []*RequestRecord
}

type boxState struct {
	MailboxStats
	admitted    int // in flight and admitted by the limits
	windowStart time.Time
	windowCount int
}

func (a *accounting) init() {
	a.boxes = map[string]*boxState{}
}

func (a *accounting) box(key string) *boxState {
	b := a.boxes[key]
	if b == nil {
		b = &boxState{MailboxStats: MailboxStats{Routes: map[string]int{}}}
		a.boxes[key] = b
	}
	return b
}

// pending is a request the accounting counts in flight.
type pending struct {
	a        *accounting
	box      string
	rec      *RequestRecord
	admitted bool
	once     sync.Once
}

func (a *accounting) begin(s *Server, rc *reqCtx, mailbox string) *pending {
	rec := &RequestRecord{
		Method:          rc.r.Method,
		Path:            rc.r.URL.Path,
		RawQuery:        rc.r.URL.RawQuery,
		Mailbox:         mailbox,
		Route:           rc.r.Method + " " + rc.route.template(),
		Prefer:          strings.Join(rc.r.Header.Values("Prefer"), ", "),
		ClientRequestID: rc.crid,
		Header:          rc.r.Header.Clone(),
		Batch:           isBatchItem(rc.r),
		Time:            s.now(),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, rec)
	b := a.box(mailbox)
	b.Requests++
	b.InFlight++
	b.MaxInFlight = max(b.MaxInFlight, b.InFlight)
	b.Routes[rec.Route]++
	return &pending{a: a, box: mailbox, rec: rec}
}

// finish ends the request's time in flight; it is idempotent.
func (p *pending) finish(status int) {
	p.once.Do(func() {
		p.a.mu.Lock()
		defer p.a.mu.Unlock()
		p.rec.Status = status
		b := p.a.box(p.box)
		b.InFlight--
		if p.admitted {
			b.admitted--
		}
		if status == http.StatusTooManyRequests {
			b.Throttled++
		}
	})
}

func (a *accounting) faultFired(p *pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.box(p.box).Faults++
}

// admit applies the limits to a request addressed to a mailbox, returning
// the 429 to serve when it is over one of them.
func (a *accounting) admit(s *Server, rc *reqCtx, p *pending) *result {
	l := s.cfg.limits
	if l == nil || p.box == "" {
		return nil
	}
	now := s.now()
	a.mu.Lock()
	b := a.box(p.box)
	if b.admitted >= l.MaxConcurrent {
		a.mu.Unlock()
		res := s.fail(rc, http.StatusTooManyRequests, "MailboxConcurrency", "Application is over its MailboxConcurrency limit.")
		res.header.Set("Retry-After", retryAfterSeconds(l.RetryAfter))
		return res
	}
	if b.windowStart.IsZero() || !now.Before(b.windowStart.Add(l.Window)) {
		b.windowStart, b.windowCount = now, 0
	}
	if b.windowCount >= l.Requests {
		wait := b.windowStart.Add(l.Window).Sub(now)
		a.mu.Unlock()
		if l.RetryAfter > 0 {
			wait = l.RetryAfter
		}
		res := s.fail(rc, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
		res.header.Set("Retry-After", retryAfterSeconds(wait))
		return res
	}
	b.windowCount++
	b.admitted++
	p.admitted = true
	a.mu.Unlock()
	return nil
}

// Stats returns the counters of a mailbox, named by user ID or UPN; ""
// gives the requests that addressed no mailbox ($batch envelopes, /users,
// /groups).
func (s *Server) Stats(mailbox string) MailboxStats {
	key := strings.ToLower(mailbox)
	s.mu.Lock()
	if u := s.userByKey[key]; u != nil {
		key = u.u.ID
	}
	s.mu.Unlock()
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	b := s.acct.boxes[key]
	if b == nil {
		return MailboxStats{Routes: map[string]int{}}
	}
	out := b.MailboxStats
	out.Routes = make(map[string]int, len(b.Routes))
	for k, v := range b.Routes {
		out.Routes[k] = v
	}
	return out
}

// Requests returns a copy of the requests received, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	out := make([]RequestRecord, len(s.acct.records))
	for i, r := range s.acct.records {
		out[i] = *r
		out[i].Header = r.Header.Clone()
	}
	return out
}

// ResetStats forgets the recorded requests and zeroes the counters.
// Requests in flight stay counted (MaxInFlight restarts from them); the
// limits' rate windows are not reset.
func (s *Server) ResetStats() {
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	s.acct.records = nil
	for _, b := range s.acct.boxes {
		b.MailboxStats = MailboxStats{InFlight: b.InFlight, MaxInFlight: b.InFlight, Routes: map[string]int{}}
	}
}
