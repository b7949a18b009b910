package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

func (p *pass) request(path string, q url.Values) *graph.Request {
	return &graph.Request{Path: path, Query: q, Header: http.Header{}, Mailbox: p.mb.UserID, Token: p.tok, Observe: p.observe}
}

// relistInterval is how long a mailbox's resolved folders are trusted
// before a pass looks them up again (new child folders, renames).
const relistInterval = time.Hour

// folders returns the folders to sync: the mailbox's cached [folderSet]
// when it is fresh and was resolved for this configuration, otherwise
// what the configured specs resolve to now (which becomes the cache).
func (p *pass) folders(ctx context.Context) ([]Folder, error) {
	now := time.Now()
	p.mu.Lock()
	rs := p.resolved
	p.mu.Unlock()
	conf := p.folderConfig()
	if rs != nil && rs.Config == conf && !rs.At.After(now) && now.Sub(rs.At) < relistInterval && len(rs.Folders) > 0 {
		p.mu.Lock()
		p.missing, p.cut = slices.Clone(rs.Missing), slices.Clone(rs.Cut)
		p.mu.Unlock()
		return slices.Clone(rs.Folders), nil
	}
	out, err := p.resolveAll(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.resolved = &folderSet{Config: conf, At: now, Folders: slices.Clone(out), Missing: slices.Clone(p.missing), Cut: slices.Clone(p.cut)}
	p.mu.Unlock()
	return out, nil
}

// folderConfig identifies a folder configuration (a hash of it), to tell
// whether a mailbox's cached folderSet still applies.
func folderConfig(specs []FolderSpec, children bool) string {
	b, _ := json.Marshal(struct {
		Specs    []FolderSpec
		Children bool
	}{specs, children})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// folderConfig identifies the pass's folder configuration: the mail
// folders' (unchanged from versions that synced only mail), and for a
// mailbox with other kinds those kinds and their specs as well.
func (p *pass) folderConfig() string {
	if len(p.kinds) == 1 && p.kinds[0] == KindMail {
		return p.e.folderConfig
	}
	b, _ := json.Marshal(struct {
		Kinds     []Kind
		Calendars []CalendarSpec
		Contacts  []ContactFolderSpec
	}{p.kinds, p.e.cfg.Calendar.Calendars, p.e.cfg.Contacts.Folders})
	sum := sha256.Sum256(b)
	return p.e.folderConfig + "+" + hex.EncodeToString(sum[:8])
}

// resolveAll resolves every kind's folders; a kind none of whose folders
// exists is skipped (and named in the status) as long as another kind has
// folders.
func (p *pass) resolveAll(ctx context.Context) ([]Folder, error) {
	var out []Folder
	var notFound error
	for _, k := range p.kinds {
		var fs []Folder
		var err error
		switch k {
		case KindMail:
			fs, err = p.resolveMail(ctx)
		case KindCalendar:
			fs, err = p.resolveCalendars(ctx)
		case KindContacts:
			fs, err = p.resolveContactFolders(ctx)
		}
		if isMissingFolder(err) {
			notFound = err
			continue
		}
		if denied(Folder{Kind: k}, err) {
			// Listing calendars or contact folders refused: that kind is
			// not granted; mail goes on.
			p.deny(Folder{Kind: k, Name: "folders"})
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	if len(out) == 0 && notFound != nil {
		return nil, notFound
	}
	return out, nil
}

// resolveMail resolves the configured mail folder specs to IDs and counts:
// the excluded folders first, then every other spec and, where asked, its
// descendants, each folder once.
func (p *pass) resolveMail(ctx context.Context) ([]Folder, error) {
	pre := p.prefetch(ctx)
	excluded, err := p.resolveExcluded(ctx, pre)
	if err != nil {
		return nil, err
	}
	var out []Folder
	seen := map[string]bool{}
	add := func(fs ...Folder) {
		for _, f := range fs {
			if !seen[f.ID] && !excluded[f.ID] {
				seen[f.ID] = true
				out = append(out, f)
			}
		}
	}
	var notFound error
	for i, spec := range p.e.cfg.Folders {
		if spec.Exclude {
			continue
		}
		fs, err := p.resolveIncluded(ctx, i, spec, pre, excluded)
		if isMissingFolder(err) {
			// One missing folder must not stop the others.
			notFound = err
			p.missingFolder(ctx, spec.WellKnown+spec.Path+spec.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		add(fs...)
	}
	if len(out) == 0 && notFound != nil {
		return nil, notFound
	}
	return out, nil
}

// isMissingFolder reports whether err says a folder (not the mailbox) is
// not there.
func isMissingFolder(err error) bool {
	return errors.Is(err, m365link.ErrNotFound) && !errors.Is(err, m365link.ErrMailboxNotEnabled)
}

// resolveExcluded returns the IDs of the folders the Exclude specs name
// (a missing one excludes nothing).
func (p *pass) resolveExcluded(ctx context.Context, pre map[int]prefetched) (map[string]bool, error) {
	excluded := map[string]bool{}
	for i, spec := range p.e.cfg.Folders {
		if !spec.Exclude {
			continue
		}
		f, err := p.resolveSpec(ctx, i, spec, pre)
		if isMissingFolder(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		excluded[f.ID] = true
	}
	return excluded, nil
}

// resolveIncluded returns spec i's folder and, where asked, its
// descendants; the mailbox root itself is left out (it holds no mail).
func (p *pass) resolveIncluded(ctx context.Context, i int, spec FolderSpec, pre map[int]prefetched, excluded map[string]bool) ([]Folder, error) {
	f, err := p.resolveSpec(ctx, i, spec, pre)
	if err != nil || excluded[f.ID] {
		return nil, err
	}
	var out []Folder
	root := strings.EqualFold(spec.WellKnown, "msgfolderroot")
	if !root {
		out = append(out, f)
	}
	if spec.Children || p.e.cfg.ChildFolders {
		if root {
			f.Name = ""
		}
		kids, err := p.children(ctx, f, 0, excluded)
		if err != nil {
			return nil, err
		}
		out = append(out, kids...)
	}
	return out, nil
}

// resolveSpec resolves spec i, from the prefetched batch when it is there.
func (p *pass) resolveSpec(ctx context.Context, i int, spec FolderSpec, pre map[int]prefetched) (Folder, error) {
	pf, ok := pre[i]
	if !ok {
		return p.resolve(ctx, spec)
	}
	f := Folder{ID: pf.wf.ID, Name: spec.WellKnown, Total: pf.wf.TotalItemCount}
	if spec.ID != "" {
		f.Name = pf.wf.DisplayName
	}
	return f, pf.err
}

// prefetch looks up the folders named by well-known name or ID in one
// $batch request, so a first pass costs one request besides its pages.
// What the batch does not answer with 200 (a missing folder, throttling
// of one item, a batch that failed) is looked up on its own, with the
// client's retries and typed errors.
func (p *pass) prefetch(ctx context.Context) map[int]prefetched {
	type item struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	var items []item
	for i, spec := range p.e.cfg.Folders {
		key := spec.WellKnown + spec.ID
		if key == "" || len(items) == maxBatch {
			continue
		}
		items = append(items, item{ID: strconv.Itoa(i), Method: http.MethodGet,
			URL: graph.Path("users", p.mb.UserID, "mailFolders", key) + "?$select=" + folderSelect})
	}
	if len(items) < 2 {
		return nil
	}
	var out struct {
		Responses []struct {
			ID     string          `json:"id"`
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	req := p.request("/$batch", nil)
	req.Method, req.Body, req.Idempotent, req.Weight = http.MethodPost, map[string]any{"requests": items}, true, min(len(items), 4)
	if err := p.e.gc.JSON(ctx, req, &out); err != nil {
		p.e.log.LogAttrs(ctx, slog.LevelDebug, "sync: folder batch failed; one by one", mailboxAttr(p.mb), slog.String("error", err.Error()))
		return nil
	}
	got := make(map[int]prefetched, len(out.Responses))
	for _, r := range out.Responses {
		i, err := strconv.Atoi(r.ID)
		if err != nil {
			continue
		}
		var wf wireFolder
		switch {
		case r.Status == http.StatusOK && json.Unmarshal(r.Body, &wf) == nil && wf.ID != "":
			got[i] = prefetched{wf: wf}
		case r.Status == http.StatusNotFound:
			// A missing folder or a mailbox without Exchange Online: the
			// same typed error a request of its own would give.
			resp := &http.Response{StatusCode: r.Status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(r.Body)),
				Request: &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/$batch"}}}
			got[i] = prefetched{err: graph.CheckResponse(resp, time.Now())}
		}
	}
	return got
}

// prefetched is a folder (or the error) a $batch item answered.
type prefetched struct {
	wf  wireFolder
	err error
}

// maxBatch is how many requests Graph takes in one $batch.
const maxBatch = 20

type wireFolder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	TotalItemCount   int    `json:"totalItemCount"`
	ChildFolderCount int    `json:"childFolderCount"`
}

const folderSelect = "id,displayName,totalItemCount,childFolderCount"

func (p *pass) getFolder(ctx context.Context, key string) (wireFolder, error) {
	var wf wireFolder
	err := p.e.gc.JSON(ctx, p.request(graph.Path("users", p.mb.UserID, "mailFolders", key),
		url.Values{"$select": {folderSelect}}), &wf)
	return wf, err
}

func (p *pass) listChildren(ctx context.Context, id string) ([]wireFolder, error) {
	return graph.All[wireFolder](ctx, p.e.gc, p.request(graph.Path("users", p.mb.UserID, "mailFolders", id, "childFolders"),
		url.Values{"$select": {folderSelect}, "$top": {"100"}}))
}

func (p *pass) resolve(ctx context.Context, spec FolderSpec) (Folder, error) {
	switch {
	case spec.ID != "":
		wf, err := p.getFolder(ctx, spec.ID)
		return Folder{ID: wf.ID, Name: wf.DisplayName, Total: wf.TotalItemCount}, err
	case spec.WellKnown != "":
		wf, err := p.getFolder(ctx, spec.WellKnown)
		return Folder{ID: wf.ID, Name: spec.WellKnown, Total: wf.TotalItemCount}, err
	}
	parts := strings.Split(strings.Trim(spec.Path, "/"), "/")
	cur, err := p.getFolder(ctx, "msgfolderroot")
	if err != nil {
		return Folder{}, err
	}
	for _, name := range parts {
		kids, err := p.listChildren(ctx, cur.ID)
		if err != nil {
			return Folder{}, err
		}
		found := false
		for _, k := range kids {
			if strings.EqualFold(k.DisplayName, name) {
				cur, found = k, true
				break
			}
		}
		if !found {
			return Folder{}, fmt.Errorf("sync: %s has no folder %q: %w", p.mb, spec.Path, m365link.ErrNotFound)
		}
	}
	return Folder{ID: cur.ID, Name: spec.Path, Total: cur.TotalItemCount}, nil
}

// children lists f's descendants down to MaxFolderDepth levels, leaving
// out the excluded folders and what lies below them. A folder with
// children at the last level has them cut: the pass names it in the
// mailbox's status.
func (p *pass) children(ctx context.Context, f Folder, depth int, excluded map[string]bool) ([]Folder, error) {
	kids, err := p.listChildren(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	var out []Folder
	for _, k := range kids {
		if excluded[k.ID] {
			continue
		}
		c := Folder{ID: k.ID, Name: strings.TrimPrefix(f.Name+"/"+k.DisplayName, "/"), Total: k.TotalItemCount}
		out = append(out, c)
		if k.ChildFolderCount == 0 {
			continue
		}
		if depth+1 >= MaxFolderDepth {
			p.mu.Lock()
			p.cut = append(p.cut, c.Name)
			p.mu.Unlock()
			p.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: child folders deeper than MaxFolderDepth not synced",
				mailboxAttr(p.mb), slog.String("folder", c.Name), slog.Int("depth", MaxFolderDepth))
			continue
		}
		more, err := p.children(ctx, c, depth+1, excluded)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// deltaRequest is the request for the next page of folder f: the saved
// link, or the base query of a full round.

// missingFolder records a configured folder the mailbox does not have.
func (p *pass) missingFolder(ctx context.Context, name string) {
	p.mu.Lock()
	p.missing = append(p.missing, name)
	p.mu.Unlock()
	p.e.log.LogAttrs(ctx, slog.LevelWarn, "sync: folder not found", mailboxAttr(p.mb), slog.String("folder", name))
}

// defaultCalendar is the ID the engine gives the default calendar: Graph
// serves its calendarView delta at /users/{id}/calendarView/delta without
// the calendar's own ID, so none is looked up.
const defaultCalendar = "calendar"

// defaultContacts is the ID the engine gives the default contact folder,
// whose delta Graph serves at /users/{id}/contacts/delta.
const defaultContacts = "contacts"

type wireNamed struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// resolveCalendars resolves Calendar.Calendars: the default calendar
// without a request, the others by one listing of the mailbox's calendars.
func (p *pass) resolveCalendars(ctx context.Context) ([]Folder, error) {
	return resolveNamedSpecs(ctx, p, KindCalendar, p.e.cfg.Calendar.Calendars, func(s CalendarSpec) (bool, string, string) { return s.Default, s.ID, s.Name },
		Folder{ID: defaultCalendar, Kind: KindCalendar, Name: "Calendar"}, graph.Path("users", p.mb.UserID, "calendars"), "id,name")
}

// resolveContactFolders resolves Contacts.Folders like resolveCalendars.
func (p *pass) resolveContactFolders(ctx context.Context) ([]Folder, error) {
	return resolveNamedSpecs(ctx, p, KindContacts, p.e.cfg.Contacts.Folders, func(s ContactFolderSpec) (bool, string, string) { return s.Default, s.ID, s.Name },
		Folder{ID: defaultContacts, Kind: KindContacts, Name: "Contacts"}, graph.Path("users", p.mb.UserID, "contactFolders"), "id,displayName")
}

// resolveNamedSpecs resolves specs that name the default folder, an ID or a
// display name; the folders are listed (once) only when a spec needs it.
func resolveNamedSpecs[S any](ctx context.Context, p *pass, kind Kind, specs []S, parts func(S) (bool, string, string), dflt Folder, listPath, sel string) ([]Folder, error) {
	var listed []wireNamed
	var out []Folder
	seen := map[string]bool{}
	var notFound error
	for _, s := range specs {
		isDefault, id, name := parts(s)
		var f Folder
		switch {
		case isDefault:
			f = dflt
		default:
			if listed == nil {
				all, err := graph.All[wireNamed](ctx, p.e.gc, p.request(listPath, url.Values{"$select": {sel}, "$top": {"100"}}))
				if err != nil {
					return nil, err
				}
				listed = append(all, wireNamed{}) // non-nil: listed once
			}
			for _, w := range listed {
				wn := w.Name + w.DisplayName
				if w.ID != "" && (id != "" && w.ID == id || name != "" && strings.EqualFold(wn, name)) {
					f = Folder{ID: w.ID, Kind: kind, Name: wn}
					break
				}
			}
			if f.ID == "" {
				notFound = fmt.Errorf("sync: %s has no %s folder %q: %w", p.mb, kind, id+name, m365link.ErrNotFound)
				p.missingFolder(ctx, string(kind)+":"+id+name)
				continue
			}
		}
		if !seen[f.ID] {
			seen[f.ID] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 && notFound != nil {
		return nil, notFound
	}
	return out, nil
}
