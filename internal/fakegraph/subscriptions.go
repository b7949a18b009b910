package fakegraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Change notifications (Graph's /subscriptions).
//
// A subscription names a mailbox resource: /users/{id}/messages,
// /users/{id}/mailFolders/{id}/messages, /users/{id}/events,
// /users/{id}/contacts or /users/{id}/contactFolders/{id}/contacts (the
// leading slash optional, users('{id}') and me/ accepted). Creating one
// first runs Graph's validation handshake against its notificationUrl
// (and lifecycleNotificationUrl): a POST with ?validationToken= that must
// be answered 200, text/plain, with the token, within
// [Server.SetSubscriptionHandshakeTimeout] (10 s). Every change the model
// makes afterwards (AddMessage, UpdateMessage, MoveMessage, DeleteMessage,
// DeleteFolder, and the same for events and contacts) is posted, after the
// model's lock is released, to each matching subscription that is neither
// expired nor waiting for reauthorization. Seeding (Seed) notifies nobody.
//
// Unlike Graph, notificationUrl may be plain http (a test's
// httptest.Server); Graph requires https.

// MaxSubscriptionLifetime is how far ahead the fake grants a message,
// event or contact subscription's expirationDateTime (10,080 minutes, as
// Graph's current documentation says); a later one asked for is capped.
const MaxSubscriptionLifetime = 10080 * time.Minute

// MaxSubscriptionsPerMailbox is how many unexpired subscriptions one
// mailbox may have, as Outlook allows across all apps.
const MaxSubscriptionsPerMailbox = 1000

// maxClientState is the longest clientState Graph accepts.
const maxClientState = 128

// Subscription is a change-notification subscription as the fake holds it.
type Subscription struct {
	ID              string
	Resource        string // as the client gave it
	ChangeType      string // "created,updated,deleted" or a part of it
	NotificationURL string
	// LifecycleNotificationURL is "" when the subscription has none.
	LifecycleNotificationURL string
	ClientState              string
	ExpirationDateTime       time.Time // granted, after the cap
	// UserID and TenantID name the mailbox of Resource.
	UserID, TenantID string
	// ReauthorizationRequired is set by a reauthorizationRequired
	// lifecycle event until the client reauthorizes or renews: meanwhile
	// no change is delivered.
	ReauthorizationRequired bool

	kind      byte   // kindMessage, kindEvent or kindContact
	container string // the folder's ID for a subscription on one folder
}

// LifecycleEvent is a lifecycle notification Graph sends to a
// subscription's lifecycleNotificationUrl.
type LifecycleEvent string

// The lifecycle events.
const (
	// Missed: notifications were lost; the client should run a delta round.
	Missed LifecycleEvent = "missed"
	// SubscriptionRemoved: Graph removed the subscription (the fake
	// deletes it first); the client should recreate it and run a delta round.
	SubscriptionRemoved LifecycleEvent = "subscriptionRemoved"
	// ReauthorizationRequired: the subscription must be reauthorized
	// (POST /subscriptions/{id}/reauthorize) or renewed; until then the
	// fake delivers none of its changes.
	ReauthorizationRequired LifecycleEvent = "reauthorizationRequired"
)

// NotificationFaults spoil the delivery of change notifications (not of
// lifecycle notifications or validation requests). The zero value spoils
// nothing.
type NotificationFaults struct {
	// Drop loses every change notification.
	Drop bool
	// Delay holds each change notification back before it is posted.
	Delay time.Duration
	// Duplicate posts each change notification twice.
	Duplicate bool
}

// NotificationDelivery is one notification the fake posted (or dropped).
type NotificationDelivery struct {
	SubscriptionID string
	// ChangeType is the change ("created", "updated", "deleted"), or ""
	// for a lifecycle notification.
	ChangeType string
	// LifecycleEvent is set for a lifecycle notification.
	LifecycleEvent LifecycleEvent
	// Resource is the changed item, "Users/{userId}/Messages/{id}".
	Resource string
	// Status is the receiver's last HTTP status; 0 when dropped or when
	// no answer came.
	Status int
	// Attempts counts the POSTs; 0 when dropped.
	Attempts int
	Dropped  bool
}

// subState is the fake's subscription machinery, guarded by its own mu
// (taken after Server.mu when both are held, never the other way round).
type subState struct {
	once sync.Once
	mu   sync.Mutex
	subs map[string]*Subscription
	n    uint64

	faults    NotificationFaults
	handshake time.Duration
	limit     int // subscriptions per mailbox
	client    *http.Client
	log       []NotificationDelivery

	ctx    context.Context
	cancel context.CancelFunc
	busy   int // deliveries in flight
	idle   *sync.Cond
}

func (st *subState) init() {
	st.once.Do(func() {
		st.subs = map[string]*Subscription{}
		st.handshake = 10 * time.Second
		st.limit = MaxSubscriptionsPerMailbox
		st.client = &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		st.ctx, st.cancel = context.WithCancel(context.Background())
		st.idle = sync.NewCond(&st.mu)
	})
}

// stop cancels deliveries in flight and waits for them.
func (st *subState) stop() {
	st.init()
	st.cancel()
	st.mu.Lock()
	for st.busy > 0 {
		st.idle.Wait()
	}
	st.mu.Unlock()
	if t, ok := st.client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// SetNotificationClient sets the HTTP client the fake posts validation
// requests and notifications with (e.g. one trusting a TLS test server);
// the default trusts the system roots and follows no redirect.
func (s *Server) SetNotificationClient(c *http.Client) {
	s.subs.init()
	s.subs.mu.Lock()
	s.subs.client = c
	s.subs.mu.Unlock()
}

// SetSubscriptionHandshakeTimeout sets how long the validation handshake
// may take (default 10 s, as Graph).
func (s *Server) SetSubscriptionHandshakeTimeout(d time.Duration) {
	s.subs.init()
	s.subs.mu.Lock()
	s.subs.handshake = d
	s.subs.mu.Unlock()
}

// SetNotificationFaults replaces the faults applied to change
// notifications posted from now on.
func (s *Server) SetNotificationFaults(f NotificationFaults) {
	s.subs.init()
	s.subs.mu.Lock()
	s.subs.faults = f
	s.subs.mu.Unlock()
}

// Subscriptions returns the unexpired subscriptions, ordered by ID.
func (s *Server) Subscriptions() []Subscription {
	st := &s.subs
	st.init()
	now := s.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []Subscription
	for _, sub := range st.subs {
		if sub.ExpirationDateTime.After(now) {
			out = append(out, *sub)
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Deliveries returns the notifications posted or dropped so far, in the
// order they finished.
func (s *Server) NotificationDeliveries() []NotificationDelivery {
	s.subs.init()
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	return slices.Clone(s.subs.log)
}

// FlushNotifications waits until every notification queued so far (delays
// and retries included) has been posted or dropped, or ctx ends.
func (s *Server) FlushNotifications(ctx context.Context) error {
	st := &s.subs
	st.init()
	stop := context.AfterFunc(ctx, func() {
		st.mu.Lock()
		st.idle.Broadcast()
		st.mu.Unlock()
	})
	defer stop()
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.busy > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		st.idle.Wait()
	}
	return nil
}

// FireLifecycle posts a lifecycle notification for a subscription to its
// lifecycleNotificationUrl, asynchronously (see [Server.FlushNotifications]).
// SubscriptionRemoved deletes the subscription first;
// ReauthorizationRequired holds its changes back until it is reauthorized
// or renewed. It fails for an unknown or expired subscription and for one
// without a lifecycleNotificationUrl.
func (s *Server) FireLifecycle(subscriptionID string, event LifecycleEvent) error {
	st := &s.subs
	st.init()
	now := s.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	sub := st.subs[subscriptionID]
	switch {
	case sub == nil || !sub.ExpirationDateTime.After(now):
		return fmt.Errorf("fakegraph: no subscription %q", subscriptionID)
	case sub.LifecycleNotificationURL == "":
		return fmt.Errorf("fakegraph: subscription %q has no lifecycleNotificationUrl", subscriptionID)
	case event != Missed && event != SubscriptionRemoved && event != ReauthorizationRequired:
		return fmt.Errorf("fakegraph: unknown lifecycle event %q", event)
	}
	switch event {
	case SubscriptionRemoved:
		delete(st.subs, subscriptionID)
	case ReauthorizationRequired:
		sub.ReauthorizationRequired = true
	}
	type item struct {
		SubscriptionID         string `json:"subscriptionId"`
		SubscriptionExpiration string `json:"subscriptionExpirationDateTime"`
		TenantID               string `json:"tenantId"`
		ClientState            string `json:"clientState"`
		LifecycleEvent         string `json:"lifecycleEvent"`
	}
	body, _ := json.Marshal(struct {
		Value []item `json:"value"`
	}{[]item{{sub.ID, graphTime(sub.ExpirationDateTime), sub.TenantID, sub.ClientState, string(event)}}})
	st.postLocked(sub.LifecycleNotificationURL, body, NotificationDelivery{SubscriptionID: sub.ID, LifecycleEvent: event}, NotificationFaults{})
	return nil
}

// graphTime renders a time as Graph renders a subscription's: UTC with
// seven fractional digits.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// scoped is a change type seen by the subscriptions on one folder.
type scoped struct{ container, change string }

// changed queues notifications for a change in mb; s.mu is held. kind is
// kindMessage, kindEvent or kindContact; wide is the change type seen by
// subscriptions on the whole mailbox ("" for none); folders are the
// (container, change type) pairs seen by subscriptions on one folder.
func (s *Server) changed(mb *mailbox, kind byte, id, wide string, folders ...scoped) {
	st := &s.subs
	st.init()
	now := s.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.subs) == 0 {
		return
	}
	for _, sub := range st.subs {
		if !strings.EqualFold(sub.UserID, mb.userID) || !sub.ExpirationDateTime.After(now) || sub.ReauthorizationRequired {
			continue
		}
		if sub.kind != kind {
			continue
		}
		change := wide
		if sub.container != "" {
			change = ""
			for _, f := range folders {
				if f.container == sub.container {
					change = f.change
				}
			}
		}
		if change == "" || !slices.Contains(strings.Split(sub.ChangeType, ","), change) {
			continue
		}
		st.postLocked(sub.NotificationURL, notification(sub, kind, id, change), NotificationDelivery{SubscriptionID: sub.ID, ChangeType: change, Resource: itemResource(sub.UserID, kind, id)}, st.faults)
	}
}

func itemResource(userID string, kind byte, id string) string {
	set := map[byte]string{kindMessage: "Messages", kindEvent: "Events", kindContact: "Contacts"}[kind]
	return "Users/" + userID + "/" + set + "/" + id
}

func notification(sub *Subscription, kind byte, id, change string) []byte {
	typ := map[byte]string{kindMessage: "#Microsoft.Graph.Message", kindEvent: "#Microsoft.Graph.Event", kindContact: "#Microsoft.Graph.Contact"}[kind]
	res := itemResource(sub.UserID, kind, id)
	type resourceData struct {
		ODataType string `json:"@odata.type"`
		ODataID   string `json:"@odata.id"`
		ID        string `json:"id"`
	}
	type item struct {
		SubscriptionID         string       `json:"subscriptionId"`
		SubscriptionExpiration string       `json:"subscriptionExpirationDateTime"`
		ChangeType             string       `json:"changeType"`
		Resource               string       `json:"resource"`
		ResourceData           resourceData `json:"resourceData"`
		ClientState            string       `json:"clientState"`
		TenantID               string       `json:"tenantId"`
	}
	body, _ := json.Marshal(struct {
		Value []item `json:"value"`
	}{[]item{{sub.ID, graphTime(sub.ExpirationDateTime), change, res,
		resourceData{typ, res, id}, sub.ClientState, sub.TenantID}}})
	return body
}

// postLocked posts body to target in the background, applying f; st.mu
// is held.
func (st *subState) postLocked(target string, body []byte, d NotificationDelivery, f NotificationFaults) {
	if f.Drop {
		d.Dropped = true
		st.log = append(st.log, d)
		return
	}
	times := 1
	if f.Duplicate {
		times = 2
	}
	client := st.client
	for range times {
		st.busy++
		d := d // each copy posts on its own
		go func() {
			defer func() {
				st.mu.Lock()
				st.log = append(st.log, d)
				st.busy--
				st.idle.Broadcast()
				st.mu.Unlock()
			}()
			if f.Delay > 0 && !sleepCtx(st.ctx, f.Delay) {
				return
			}
			// Graph retries a failed delivery for hours; three quick tries
			// show a test the retry without making it wait.
			for attempt := 1; attempt <= 3; attempt++ {
				d.Attempts = attempt
				d.Status = postOnce(st.ctx, client, target, body)
				if d.Status >= 200 && d.Status < 300 || st.ctx.Err() != nil {
					return
				}
				if !sleepCtx(st.ctx, time.Duration(attempt)*50*time.Millisecond) {
					return
				}
			}
		}()
	}
}

func postOnce(ctx context.Context, client *http.Client, target string, body []byte) int {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// subResource is a parsed subscription resource.
type subResource struct {
	user      string // the key after users (or "" for me)
	me        bool
	kind      byte
	container string // "mailfolders" or "contactfolders" when scoped
	folderRef string // the container as the resource names it
	ok        bool
}

// parseSubResource parses a resource; the caller resolves folderRef.
func parseSubResource(res string) subResource {
	res = strings.TrimPrefix(res, "/")
	if i := strings.IndexByte(res, '?'); i >= 0 {
		res = res[:i]
	}
	var r subResource
	rt := parseRoute(res)
	segs := rt.segs
	if len(segs) > 0 && segs[0].name == "me" && !segs[0].hasKey {
		r.me = true
		segs = segs[1:]
	} else if len(segs) > 0 && segs[0].name == "users" && segs[0].hasKey {
		r.user = segs[0].key
		segs = segs[1:]
	} else {
		return r
	}
	sig := make([]string, len(segs))
	for i, sg := range segs {
		sig[i] = sg.name
		if sg.hasKey {
			sig[i] += "/{}"
		}
	}
	switch strings.Join(sig, "/") {
	case "messages":
		r.kind = kindMessage
	case "events":
		r.kind = kindEvent
	case "contacts":
		r.kind = kindContact
	case "mailfolders/{}/messages":
		r.kind, r.container, r.folderRef = kindMessage, "mailfolders", segs[0].key
	case "contactfolders/{}/contacts":
		r.kind, r.container, r.folderRef = kindContact, "contactfolders", segs[0].key
	default:
		return r
	}
	r.ok = true
	return r
}

// wireSubscription is a subscription as Graph renders and takes it.
type wireSubscription struct {
	ODataContext             string  `json:"@odata.context,omitempty"`
	ID                       string  `json:"id,omitempty"`
	Resource                 string  `json:"resource"`
	ApplicationID            string  `json:"applicationId"`
	ChangeType               string  `json:"changeType"`
	ClientState              *string `json:"clientState"`
	NotificationURL          string  `json:"notificationUrl"`
	LifecycleNotificationURL *string `json:"lifecycleNotificationUrl"`
	ExpirationDateTime       string  `json:"expirationDateTime"`
	CreatorID                string  `json:"creatorId"`
	LatestSupportedTLS       string  `json:"latestSupportedTlsVersion"`
	IncludeResourceData      *bool   `json:"includeResourceData"`
}

func (s *Server) renderSubscription(sub *Subscription, context string) []byte {
	w := wireSubscription{ODataContext: context, ID: sub.ID, Resource: sub.Resource,
		ApplicationID: "8f3c2d1e-5b6a-4c7d-9e0f-1a2b3c4d5e6f", ChangeType: sub.ChangeType,
		NotificationURL: sub.NotificationURL, ExpirationDateTime: graphTime(sub.ExpirationDateTime),
		CreatorID: sub.UserID, LatestSupportedTLS: "v1_2"}
	if sub.ClientState != "" {
		w.ClientState = &sub.ClientState
	}
	if sub.LifecycleNotificationURL != "" {
		w.LifecycleNotificationURL = &sub.LifecycleNotificationURL
	}
	b, _ := json.Marshal(w)
	return b
}

// subscriptionRoute serves /subscriptions routes; nil for other routes.
func (s *Server) subscriptionRoute(rc *reqCtx) *result {
	segs := rc.route.segs
	if len(segs) == 0 || segs[0].name != "subscriptions" {
		return nil
	}
	s.subs.init()
	m := rc.r.Method
	switch rc.route.sig {
	case "subscriptions":
		switch m {
		case http.MethodPost:
			return s.createSubscription(rc)
		case http.MethodGet:
			return s.listSubscriptions(rc)
		}
	case "subscriptions/{}":
		switch m {
		case http.MethodGet:
			return s.withSubscription(rc, func(sub *Subscription) *result {
				return jsonResult(s.renderSubscription(sub, s.Origin()+"/v1.0/$metadata#subscriptions/$entity"))
			})
		case http.MethodPatch:
			return s.renewSubscription(rc)
		case http.MethodDelete:
			return s.withSubscription(rc, func(sub *Subscription) *result {
				delete(s.subs.subs, sub.ID)
				return &result{status: http.StatusNoContent, header: http.Header{}}
			})
		}
	case "subscriptions/{}/reauthorize":
		if m == http.MethodPost {
			return s.withSubscription(rc, func(sub *Subscription) *result {
				sub.ReauthorizationRequired = false
				return &result{status: http.StatusNoContent, header: http.Header{}}
			})
		}
	default:
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[len(segs)-1].name+"'.")
	}
	return s.fail(rc, http.StatusMethodNotAllowed, "BadRequest", "The fake does not serve "+m+" "+rc.route.template()+".")
}

// withSubscription runs f under the subscriptions' lock on the
// unexpired subscription the route names, visible to the caller's tenant.
func (s *Server) withSubscription(rc *reqCtx, f func(*Subscription) *result) *result {
	now := s.now()
	st := &s.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	sub := st.subs[rc.route.key(0)]
	if sub == nil || !sub.ExpirationDateTime.After(now) || !s.visible(rc, sub.TenantID) {
		if sub != nil && !sub.ExpirationDateTime.After(now) {
			delete(st.subs, sub.ID) // Graph forgets expired subscriptions
		}
		return s.fail(rc, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
	}
	return f(sub)
}

func (s *Server) listSubscriptions(rc *reqCtx) *result {
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":` + strconv.Quote(s.Origin()+"/v1.0/$metadata#subscriptions") + `,"value":[`)
	n := 0
	for _, sub := range s.Subscriptions() {
		if !s.visible(rc, sub.TenantID) {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.Write(s.renderSubscription(&sub, ""))
	}
	b.WriteString("]}")
	return jsonResult(b.Bytes())
}

// readSubscriptionBody decodes a request body of at most 64 KiB.
func readSubscriptionBody(rc *reqCtx, into any) error {
	b, err := io.ReadAll(io.LimitReader(rc.r.Body, 64<<10))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// parseExpiration parses expirationDateTime, requires it in the future
// and caps it at the maximum lifetime.
func (s *Server) parseExpiration(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.9999999", v); err != nil {
			return time.Time{}, errors.New("expirationDateTime is not a date and time")
		}
	}
	now := s.now()
	if !t.After(now) {
		return time.Time{}, errors.New("Subscription expiration can only be in the future.")
	}
	if limit := now.Add(MaxSubscriptionLifetime); t.After(limit) {
		t = limit
	}
	return t.UTC(), nil
}

func (s *Server) createSubscription(rc *reqCtx) *result {
	var w wireSubscription
	if err := readSubscriptionBody(rc, &w); err != nil {
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
	}
	bad := func(msg string) *result { return s.fail(rc, http.StatusBadRequest, "InvalidRequest", msg) }
	sub := &Subscription{Resource: w.Resource, ChangeType: w.ChangeType, NotificationURL: w.NotificationURL}
	if w.ClientState != nil {
		sub.ClientState = *w.ClientState
	}
	if w.LifecycleNotificationURL != nil {
		sub.LifecycleNotificationURL = *w.LifecycleNotificationURL
	}
	if len(sub.ClientState) > maxClientState {
		return bad("clientState must be at most 128 characters.")
	}
	if sub.ChangeType == "" {
		return bad("changeType is required.")
	}
	for _, c := range strings.Split(sub.ChangeType, ",") {
		if c != "created" && c != "updated" && c != "deleted" {
			return bad("changeType '" + c + "' is not supported for this resource.")
		}
	}
	for _, u := range []string{sub.NotificationURL, sub.LifecycleNotificationURL} {
		if p, err := url.Parse(u); u != "" && (err != nil || p.Scheme != "https" && p.Scheme != "http" || p.Host == "") {
			return bad("The notification URL '" + u + "' is not an absolute http(s) URL.")
		}
	}
	if sub.NotificationURL == "" {
		return bad("notificationUrl is required.")
	}
	exp, err := s.parseExpiration(w.ExpirationDateTime)
	if err != nil {
		return bad(err.Error())
	}
	sub.ExpirationDateTime = exp
	if res := s.resolveSubResource(rc, sub); res != nil {
		return res
	}
	for _, u := range []string{sub.NotificationURL, sub.LifecycleNotificationURL} {
		if u == "" {
			continue
		}
		if err := s.validateEndpoint(rc.r.Context(), u); err != nil {
			return s.fail(rc, http.StatusBadRequest, "ValidationError",
				"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. ("+err.Error()+")")
		}
	}
	st := &s.subs
	now := s.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	active := 0
	for _, o := range st.subs {
		if strings.EqualFold(o.UserID, sub.UserID) && o.ExpirationDateTime.After(now) {
			active++
		}
	}
	if active >= st.limit {
		return s.fail(rc, http.StatusForbidden, "ExtensionError",
			"Operation: Create; Exception: [Status Code: Forbidden; Reason: The mailbox has reached its limit of "+strconv.Itoa(st.limit)+" subscriptions.]")
	}
	st.n++
	sub.ID = guid(hashKey("subscription"), st.n)
	st.subs[sub.ID] = sub
	res := jsonResult(s.renderSubscription(sub, s.Origin()+"/v1.0/$metadata#subscriptions/$entity"))
	res.status = http.StatusCreated
	return res
}

// resolveSubResource checks the resource names a mailbox (and folder) the
// caller may see and fills in UserID and TenantID.
func (s *Server) resolveSubResource(rc *reqCtx, sub *Subscription) *result {
	r := parseSubResource(sub.Resource)
	if !r.ok {
		return s.fail(rc, http.StatusBadRequest, "InvalidRequest", "Resource '"+sub.Resource+"' is not supported.")
	}
	user := r.user
	if r.me {
		if user = rc.me; user == "" {
			return s.fail(rc, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByKey[strings.ToLower(user)]
	if u == nil || !s.visible(rc, u.u.TenantID) {
		return s.fail(rc, http.StatusNotFound, "ResourceNotFound", "Resource '"+sub.Resource+"' does not exist or one of its queried reference-property objects are not present.")
	}
	if u.mb == nil {
		return s.fail(rc, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	}
	var c *container
	switch r.container {
	case "mailfolders":
		c = u.mb.folder(r.folderRef)
	case "contactfolders":
		c = u.mb.contacts.ref(r.folderRef)
	}
	if r.container != "" {
		if c == nil {
			return s.fail(rc, http.StatusNotFound, "ResourceNotFound", "Resource '"+sub.Resource+"' does not exist or one of its queried reference-property objects are not present.")
		}
		sub.container = c.id
	}
	sub.UserID, sub.TenantID, sub.kind = u.u.ID, u.u.TenantID, r.kind
	return nil
}

// validateEndpoint runs Graph's validation handshake against target.
func (s *Server) validateEndpoint(ctx context.Context, target string) error {
	st := &s.subs
	st.mu.Lock()
	client, timeout := st.client, st.handshake
	st.n++
	token := "Validation: Testing client application reachability for subscription Request-Id: " + guid(hashKey("validation"), st.n)
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("the endpoint did not answer within " + timeout.String())
		}
		return errors.New("the endpoint could not be reached")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return errors.New("the answer was cut short")
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return errors.New("the answer is not text/plain")
	}
	if string(body) != token {
		return errors.New("the answer is not the validation token")
	}
	return nil
}

func (s *Server) renewSubscription(rc *reqCtx) *result {
	var w struct {
		ExpirationDateTime string `json:"expirationDateTime"`
	}
	if err := readSubscriptionBody(rc, &w); err != nil {
		return s.fail(rc, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
	}
	exp, err := s.parseExpiration(w.ExpirationDateTime)
	if err != nil {
		return s.fail(rc, http.StatusBadRequest, "InvalidRequest", err.Error())
	}
	return s.withSubscription(rc, func(sub *Subscription) *result {
		sub.ExpirationDateTime, sub.ReauthorizationRequired = exp, false
		return jsonResult(s.renderSubscription(sub, s.Origin()+"/v1.0/$metadata#subscriptions/$entity"))
	})
}
