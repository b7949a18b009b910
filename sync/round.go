package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// A folder's round: fetch a delta page, hand it to the sink, save the
// cursor, until the round's deltaLink. Every round that starts from the
// base query runs under a new generation, saved before anything of the
// round reaches the sink, and ends with a sweep of older generations
// ([ResetEnd]) — whether it is the folder's first round, a resync, a redo
// past the filter cap, a recovery from an unusable cursor, or any of them
// restarted after a crash. So an interrupted round repeats work but never
// leaves a message behind that Graph has since deleted.

// maxRestarts bounds how often one pass restarts a folder's full round
// because Graph discarded the round's state midway; past it the folder
// fails for this pass and the next pass tries again.
const maxRestarts = 8

// deltaRequest is the request for the next page of folder f: the saved
// link, or the base query of a full round of its kind.
func (p *pass) deltaRequest(f Folder, c cursor, pageSize int) *graph.Request {
	h := http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(pageSize)}}
	req := &graph.Request{URL: c.Link, Header: h, Mailbox: p.mb.UserID, Token: p.tok, Observe: p.observe}
	switch kindOf(f) {
	case KindCalendar:
		// Times in UTC: every instant is exact whatever zone the event
		// was made in; the event's own zone comes with it.
		h.Add("Prefer", `outlook.timezone="UTC"`)
		if c.Link == "" {
			// calendarView delta takes no $select; the window goes on the
			// first request only.
			req.Path = graph.Path("users", p.mb.UserID, "calendars", f.ID, "calendarView", "delta")
			if f.ID == defaultCalendar {
				req.Path = graph.Path("users", p.mb.UserID, "calendarView", "delta")
			}
			req.Query = url.Values{"startDateTime": {c.Since.UTC().Format(time.RFC3339)}, "endDateTime": {c.Until.UTC().Format(time.RFC3339)}}
		}
		return req
	case KindContacts:
		if c.Link == "" {
			req.Path = graph.Path("users", p.mb.UserID, "contactFolders", f.ID, "contacts", "delta")
			if f.ID == defaultContacts {
				req.Path = graph.Path("users", p.mb.UserID, "contacts", "delta")
			}
			req.Query = url.Values{"$select": {graph.ContactSelect}}
		}
		return req
	}
	if p.e.cfg.IncludeBody {
		h.Add("Prefer", `outlook.body-content-type="text"`)
	}
	if c.Link != "" {
		return req
	}
	sel := graph.MessageSelect
	if p.e.cfg.IncludeBody {
		sel += ",body"
	}
	q := url.Values{"$select": {sel}}
	if !c.Since.IsZero() && !c.Unfiltered {
		q.Set("$filter", "receivedDateTime ge "+c.Since.UTC().Format(time.RFC3339))
	}
	req.Path, req.Query = graph.Path("users", p.mb.UserID, "mailFolders", f.ID, "messages", "delta"), q
	return req
}

// folder syncs one folder to the end of its current delta round and
// returns the cursor it saved last. A folder left alone by this pass
// (degraded, or backing off after failures) returns an error saying so.
func (p *pass) folder(ctx context.Context, f Folder) (cursor, error) {
	p.mu.Lock()
	c, ok := p.planned[f.ref()]
	delete(p.planned, f.ref())
	p.mu.Unlock()
	if !ok {
		var err error
		if c, err = p.e.loadCursor(ctx, p.key, f.ref()); err != nil {
			return c, err
		}
	}
	var err error
	if c, err = p.gate(ctx, f, c); err != nil {
		return c, err
	}
	if p.rolls(f, c, p.e.cfg.now()) {
		p.e.log.LogAttrs(ctx, slog.LevelInfo, "sync: calendar window rolls forward; full round", mailboxAttr(p.mb), slog.String("calendar", f.ID))
		c.Link = ""
	}
	switch {
	case c.Link == "": // startRound says "initial"
	case c.Initial:
		p.phase(true)
	default:
		p.phase(false)
	}
	r := &round{p: p, f: f, c: c, pageSize: p.e.cfg.pageSize}
	if c.Link != "" {
		p.mu.Lock()
		if pr, ok := p.probed[f.ref()]; ok {
			r.first = &pr
			delete(p.probed, f.ref())
		}
		p.mu.Unlock()
	}
	err = r.run(ctx)
	return r.c, err
}

// gate decides whether this pass leaves folder f alone: degraded until its
// window is over, or backing off after failed passes.
func (p *pass) gate(ctx context.Context, f Folder, c cursor) (cursor, error) {
	if !c.DegradedUntil.IsZero() {
		if time.Now().Before(c.DegradedUntil) {
			return c, fmt.Errorf("%w: Graph reset it %d times in %s; next try after %s", ErrDegraded,
				len(c.Resets), p.e.cfg.Schedule.ResyncWindow, c.DegradedUntil.UTC().Format(time.RFC3339))
		}
		// The window is over: try once more, with a fresh reset budget.
		c.DegradedUntil, c.Resets = time.Time{}, nil
	}
	if c.Skip > 0 {
		c.Skip--
		if err := p.save(ctx, f, c); err != nil {
			return c, err
		}
		if c.Denied {
			return c, fmt.Errorf("%w (%d failed passes in a row, %d more to skip): %w: %s", ErrFolderBackoff, c.Failures, c.Skip, errDenied, c.LastError)
		}
		return c, fmt.Errorf("%w (%d failed passes in a row, %d more to skip): %s", ErrFolderBackoff, c.Failures, c.Skip, c.LastError)
	}
	return c, nil
}

// round is one folder's delta round in a pass: fetch a page, hand it to
// the sink, save the cursor, until the round's deltaLink.
type round struct {
	p        *pass
	f        Folder
	c        cursor // the cursor as last saved (or about to be)
	pageSize int
	restarts int     // full-round restarts in this pass (onReset)
	first    *probed // the probe's answer for the round's first page, if any
	// reused: a page is the sink's only during its Apply
	upserts  []m365link.Message
	events   []m365link.Event
	contacts []m365link.Contact
}

// fetchedOf starts the fetched of a delta page of any kind.
func fetchedOf[T any](page *graph.Page[T]) *fetched {
	return &fetched{entries: len(page.Value) + len(page.ItemErrors), itemErrors: page.ItemErrors, next: page.NextLink, delta: page.DeltaLink}
}

// fetched is one delta page of any kind, ready for the sink.
type fetched struct {
	// ids are the upserted items' IDs; apply hands them to the sink.
	ids   []string
	apply func(ctx context.Context) error
	// removed are the IDs Graph reported removed (or, for events,
	// cancelled or outside the window).
	removed []string
	// entries is how many entries Graph sent, item errors included.
	entries    int
	itemErrors []*m365link.ItemError
	next       string
	delta      string
}

func (r *round) run(ctx context.Context) error {
	p := r.p
	for {
		if r.c.Link == "" {
			var err error
			if r.c, err = p.startRound(ctx, r.f, r.c); err != nil {
				return err
			}
		}
		page, err := r.fetch(ctx)
		if err != nil {
			if again, err := r.recover(ctx, err); !again {
				return err
			}
			continue
		}
		if err := r.deliver(ctx, page); err != nil {
			return err
		}
		if done, err := r.advance(ctx, page); done || err != nil {
			return err
		}
	}
}

// recover decides what a failed fetch means: a reset restarts the round
// (or degrades the folder), a 504 asks for smaller pages, a saved cursor
// that can never be used starts over; anything else ends the folder's
// round for this pass. again says whether to fetch again.
func (r *round) recover(ctx context.Context, err error) (again bool, _ error) {
	p, e := r.p, r.p.e
	var ge *m365link.GraphError
	switch {
	case errors.Is(err, m365link.ErrSyncReset):
		c, err := p.onReset(ctx, r.f, r.c, err, &r.restarts)
		r.c = c
		return err == nil, err
	case errors.As(err, &ge) && ge.StatusCode == http.StatusGatewayTimeout && r.pageSize > minPageSize:
		// Big pages can time out at Graph: ask for smaller ones.
		r.pageSize = max(minPageSize, r.pageSize/2)
		e.log.LogAttrs(ctx, slog.LevelInfo, "sync: 504; smaller pages", mailboxAttr(p.mb), slog.Int("pageSize", r.pageSize))
		return true, nil
	case errors.Is(err, m365link.ErrUntrustedLink):
		e.untrusted.Add(1)
		if r.c.Link != "" && !e.gc.Trusts(r.c.Link) {
			// The saved cursor itself is unusable (written by an older
			// version, or damaged): start over with a sweep.
			e.log.LogAttrs(ctx, slog.LevelWarn, "sync: saved cursor unusable; full round",
				mailboxAttr(p.mb), slog.String("folder", r.f.ID))
			r.c.Link = ""
			return true, nil
		}
		// Graph's answer points elsewhere: refused before anything of it
		// was applied or saved; the last good cursor stays.
		e.log.LogAttrs(ctx, slog.LevelWarn, "sync: page refused: link to another origin",
			mailboxAttr(p.mb), slog.String("folder", r.f.ID), slog.String("error", err.Error()))
	}
	return false, err
}

// fetch gets the round's next page and turns it into what its kind's
// sink takes.
func (r *round) fetch(ctx context.Context) (*fetched, error) {
	p := r.p
	if pr := r.first; pr != nil {
		r.first = nil
		if pr.err != nil {
			return nil, pr.err
		}
		if fd, ok := r.decodeProbe(pr.body); ok {
			return fd, nil
		}
	}
	req := p.deltaRequest(r.f, r.c, r.pageSize)
	switch kindOf(r.f) {
	case KindCalendar:
		page, err := graph.GetPage[graph.Event](ctx, p.e.gc, req)
		if err != nil {
			return nil, err
		}
		return r.eventPage(page), nil
	case KindContacts:
		page, err := graph.GetPage[graph.Contact](ctx, p.e.gc, req)
		if err != nil {
			return nil, err
		}
		return r.contactPage(page), nil
	}
	page, err := graph.GetPage[graph.Message](ctx, p.e.gc, req)
	if err != nil {
		return nil, err
	}
	return r.messages(page), nil
}

func (r *round) messages(page *graph.Page[graph.Message]) *fetched {
	p, c := r.p, &r.c
	out := &Page{Mailbox: p.mb, Folder: r.f, Generation: c.Generation, Upserts: r.upserts[:0]}
	fd := fetchedOf(page)
	for i := range page.Value {
		m := &page.Value[i]
		if m.Removed != nil {
			fd.removed = append(fd.removed, m.ID)
			continue
		}
		if c.Unfiltered && !c.Since.IsZero() && m.ReceivedAt.Before(c.Since) {
			continue // outside the window: the client-side cut
		}
		m.FolderID = r.f.ID
		out.Upserts = append(out.Upserts, m.Message)
		fd.ids = append(fd.ids, m.ID)
	}
	r.upserts = out.Upserts
	fd.apply = func(ctx context.Context) error {
		return p.toSink(func() error { return p.e.cfg.Sink.Apply(ctx, out) })
	}
	return fd
}

// eventPage turns a calendarView delta page into the sink's: a cancelled
// event, or one that does not overlap the round's window (Graph may
// report changed events outside it), is a removal.
func (r *round) eventPage(page *graph.Page[graph.Event]) *fetched {
	p, c := r.p, &r.c
	out := &EventPage{Mailbox: p.mb, Calendar: r.f, Generation: c.Generation, Upserts: r.events[:0]}
	fd := fetchedOf(page)
	for i := range page.Value {
		ev := &page.Value[i]
		if ev.Removed != nil || ev.IsCancelled || ev.Type == m365link.EventSeriesMaster || !overlaps(&ev.Event, c.Since, c.Until) {
			fd.removed = append(fd.removed, ev.ID)
			continue
		}
		out.Upserts = append(out.Upserts, ev.Event)
		fd.ids = append(fd.ids, ev.ID)
	}
	r.events = out.Upserts
	fd.apply = func(ctx context.Context) error {
		return p.toSink(func() error { return p.e.cfg.Calendar.Sink.ApplyEvents(ctx, out) })
	}
	return fd
}

// overlaps reports whether ev overlaps the window [from, until); an event
// without times (not understood) is kept, a zero-length one at from too.
func overlaps(ev *m365link.Event, from, until time.Time) bool {
	if ev.Start.IsZero() || from.IsZero() {
		return true
	}
	end := ev.End
	if end.Before(ev.Start) || end.Equal(ev.Start) {
		end = ev.Start.Add(time.Nanosecond)
	}
	return ev.Start.Before(until) && end.After(from)
}

func (r *round) contactPage(page *graph.Page[graph.Contact]) *fetched {
	p, c := r.p, &r.c
	out := &ContactPage{Mailbox: p.mb, Folder: r.f, Generation: c.Generation, Upserts: r.contacts[:0]}
	fd := fetchedOf(page)
	for i := range page.Value {
		ct := &page.Value[i]
		if ct.Removed != nil {
			fd.removed = append(fd.removed, ct.ID)
			continue
		}
		ct.FolderID = r.f.ID
		out.Upserts = append(out.Upserts, ct.Contact)
		fd.ids = append(fd.ids, ct.ID)
	}
	r.contacts = out.Upserts
	fd.apply = func(ctx context.Context) error {
		return p.toSink(func() error { return p.e.cfg.Contacts.Sink.ApplyContacts(ctx, out) })
	}
	return fd
}

// deliver hands a page's upserts to the sink and keeps its removals for
// the end of the pass.
func (r *round) deliver(ctx context.Context, fd *fetched) error {
	p, c := r.p, &r.c
	if err := p.fence(ctx); err != nil {
		return err
	}
	for _, id := range fd.removed {
		c.Pending = append(c.Pending, Removal{ID: id, FolderID: r.f.ID})
	}
	p.itemErrors(ctx, r.f, fd.itemErrors)
	if len(fd.ids) > 0 {
		if err := fd.apply(ctx); err != nil {
			return err
		}
		if len(c.Pending) > len(fd.removed) {
			c.Pending = cancelRemovals(c.Pending, fd.ids)
		}
	}
	p.e.pages.Add(1)
	p.e.items.Add(int64(len(fd.ids)))
	c.Delivered += fd.entries
	if c.Initial {
		c.Upserted += len(fd.ids)
	}
	p.progress(len(fd.ids))
	return nil
}

// advance saves the cursor past a delivered page: the next page's link,
// or at the round's end its deltaLink (done), unless Graph's filter cap
// makes the round start over unfiltered.
func (r *round) advance(ctx context.Context, page *fetched) (done bool, _ error) {
	p, c := r.p, &r.c
	if page.next != "" {
		c.Link = page.next
		return false, p.save(ctx, r.f, *c)
	}
	if page.delta == "" {
		return true, fmt.Errorf("a last page without a deltaLink: %w", m365link.ErrMalformedResponse)
	}
	if kindOf(r.f) == KindMail && p.capped(*c) {
		// Graph stops a filtered delta at 5,000 messages and says nothing:
		// redo the round unfiltered and cut by date here. A later round
		// that hit the cap may have lost changes, removals among them:
		// only a full round with a sweep is exact.
		p.e.log.LogAttrs(ctx, slog.LevelInfo, "sync: filtered delta capped; falling back to unfiltered",
			mailboxAttr(p.mb), slog.String("folder", r.f.ID), slog.Int("delivered", c.Delivered), slog.Bool("initial", c.Initial))
		c.Unfiltered, c.Link = true, ""
		return false, nil
	}
	c.Link, c.Initial, c.Delivered, c.Upserted = page.delta, false, 0, 0
	if c.Generation <= 1 {
		c.Resyncing = false // the folder's very first round: nothing older to sweep
	}
	c.Failures, c.Skip, c.LastError, c.Denied = 0, 0, "", false
	return true, p.save(ctx, r.f, *c)
}

// startRound begins a full round of f from the base query under a new
// generation. The generation is saved before the round's first page
// reaches the sink, so a crash anywhere in the round makes the next pass
// start yet another one; the sweep at the round's end removes what every
// earlier round delivered and Graph no longer has.
func (p *pass) startRound(ctx context.Context, f Folder, c cursor) (cursor, error) {
	switch {
	case kindOf(f) == KindCalendar:
		// Every full round of a calendar takes the window of its day.
		c.Since, c.Until = p.e.calendarWindow(p.e.cfg.now())
	case kindOf(f) == KindContacts:
	case c.Generation == 0:
		c.Since = p.e.cfg.Window.start(time.Now())
	}
	c.Generation++
	c.Link, c.Initial, c.Resyncing, c.Delivered, c.Upserted = "", true, true, 0, 0
	n, ok := p.expected(f)
	if !ok {
		n = p.expect(ctx, f, c)
		p.estimate(f, n)
	}
	c.Expect = n
	if c.Generation > 1 {
		// The sink may hold messages of older rounds. Like every write to
		// it, the ResetBegin waits for the lease to be renewed.
		if err := p.fence(ctx); err != nil {
			return c, err
		}
		if err := p.reset(ctx, f, Reset{Mailbox: p.mb, Phase: ResetBegin, Generation: c.Generation}); err != nil {
			return c, err
		}
	}
	if err := p.save(ctx, f, c); err != nil {
		return c, err
	}
	p.phase(true)
	return c, nil
}

// expect returns how many messages a full round of f will deliver: the
// folder's total, or with a history window the count of messages received
// inside it (one small request; 0, unknown, if it fails).
func (p *pass) expect(ctx context.Context, f Folder, c cursor) int {
	if kindOf(f) != KindMail {
		return 0 // unknown: Graph counts no window of events
	}
	if c.Since.IsZero() {
		return f.Total
	}
	var page struct {
		Count int `json:"@odata.count"`
	}
	q := url.Values{"$filter": {"receivedDateTime ge " + c.Since.UTC().Format(time.RFC3339)}, "$count": {"true"}, "$top": {"1"}, "$select": {"id"}}
	if err := p.e.gc.JSON(ctx, p.request(graph.Path("users", p.mb.UserID, "mailFolders", f.ID, "messages"), q), &page); err != nil {
		p.e.log.LogAttrs(ctx, slog.LevelDebug, "sync: count messages in the window", mailboxAttr(p.mb),
			slog.String("folder", f.ID), slog.String("error", err.Error()))
		return 0
	}
	return page.Count
}

// onReset handles Graph discarding folder f's sync state. A reset of a
// finished round's state (an incremental pass) is a resync and counts
// towards MaxResyncs in ResyncWindow, past which the folder degrades and
// waits the window out. A reset during a full round (its base query
// included) loses nothing finished: the round restarts, up to maxRestarts
// times a pass without counting, so a short storm of resets slows a folder
// down but does not park it; a pass that gives up counts one reset.
func (p *pass) onReset(ctx context.Context, f Folder, c cursor, cause error, restarts *int) (cursor, error) {
	e := p.e
	if c.Link == "" || c.Initial {
		// Nothing finished was lost: restart the round (under a new
		// generation), a few times at most in one pass; past that the
		// pass gives up on the folder and the reset counts once.
		*restarts++
		if *restarts <= maxRestarts {
			e.resyncs.Add(1)
			e.log.LogAttrs(ctx, slog.LevelInfo, "sync: sync state reset during a full round; restarting it",
				mailboxAttr(p.mb), slog.String("folder", f.ID))
			c.Link = ""
			return c, nil
		}
		cause = fmt.Errorf("full round reset %d times in one pass: %w", *restarts, cause)
	}
	now := time.Now()
	recent := c.Resets[:0]
	for _, t := range c.Resets {
		if now.Sub(t) < e.cfg.Schedule.ResyncWindow {
			recent = append(recent, t)
		}
	}
	c.Resets = append(recent, now)
	if len(c.Resets) > e.cfg.Schedule.MaxResyncs {
		// Leave the folder alone until the window is over; the first pass
		// after it tries again.
		c.DegradedUntil = now.Add(e.cfg.Schedule.ResyncWindow)
		if err := p.save(ctx, f, c); err != nil {
			return c, err
		}
		return c, fmt.Errorf("%w: Graph reset it %d times in %s: %w", ErrDegraded, len(c.Resets), e.cfg.Schedule.ResyncWindow, cause)
	}
	if *restarts > maxRestarts {
		if err := p.save(ctx, f, c); err != nil {
			return c, err
		}
		return c, cause
	}
	e.resyncs.Add(1)
	e.log.LogAttrs(ctx, slog.LevelInfo, "sync: sync state reset; full resync", mailboxAttr(p.mb), slog.String("folder", f.ID))
	c.Link = ""
	return c, nil
}

// capped reports whether a filtered round that just ended may have been cut
// short by Graph's cap. A full round that delivered every message the
// window held when it started (Expect, counted then) was not; an unknown
// count is taken as capped.
func (p *pass) capped(c cursor) bool {
	if c.Since.IsZero() || c.Unfiltered || c.Delivered < p.e.cfg.filteredDeltaCap {
		return false
	}
	return !c.Initial || c.Expect <= 0 || c.Expect > c.Delivered
}

// cancelRemovals drops pending removals of messages upserted since: the
// message came back to the folder (after a crash left the removal pending).
func cancelRemovals(pending []Removal, upserted []string) []Removal {
	ids := make(map[string]struct{}, len(upserted))
	for _, id := range upserted {
		ids[id] = struct{}{}
	}
	return slices.DeleteFunc(pending, func(r Removal) bool {
		_, ok := ids[r.ID]
		return ok
	})
}

func (p *pass) itemErrors(ctx context.Context, f Folder, errs []*m365link.ItemError) {
	if len(errs) == 0 {
		return
	}
	p.e.itemErrors.Add(int64(len(errs)))
	p.mu.Lock()
	p.st.ItemErrors += len(errs)
	p.mu.Unlock()
	for _, ie := range errs {
		p.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: message not understood", mailboxAttr(p.mb),
			slog.String("folder", f.ID), slog.String("id", ie.ID), slog.Int("index", ie.Index), slog.String("error", ie.Err.Error()))
		if p.e.cfg.OnItemError != nil {
			p.e.cfg.OnItemError(p.mb, ie)
		}
	}
}

// calendarWindow is the calendar window of the day of now:
// [today-PastDays, today+FutureDays) in UTC days.
func (e *Engine) calendarWindow(now time.Time) (from, until time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -e.cfg.Calendar.PastDays), day.AddDate(0, 0, e.cfg.Calendar.FutureDays)
}

// rolls reports whether calendar f's finished round is over a window of an
// earlier day: then a new full round over today's window starts, and its
// sweep removes what fell out of the window.
func (p *pass) rolls(f Folder, c cursor, now time.Time) bool {
	if kindOf(f) != KindCalendar || c.Link == "" || c.Initial {
		return false
	}
	from, until := p.e.calendarWindow(now)
	return !from.Equal(c.Since) || !until.Equal(c.Until)
}
