package graphsdk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// adapter is the SDK's request adapter with the library's errors: every
// Send turns an error answer into one that is both the SDK's error and a
// *m365link.GraphError, and a failed round trip into one that names the
// request's method and path, never its query (skip and delta tokens).
// Errors of the token source pass through as they are. The page iterator
// sends through the client's adapter, so its errors read the same.
type adapter struct {
	*msgraphsdk.GraphRequestAdapter
}

func (a *adapter) Send(ctx context.Context, ri *abstractions.RequestInformation, f serialization.ParsableFactory, em abstractions.ErrorMappings) (serialization.Parsable, error) {
	v, err := a.GraphRequestAdapter.Send(ctx, ri, f, em)
	return v, convert(ri, err)
}

func (a *adapter) SendEnum(ctx context.Context, ri *abstractions.RequestInformation, f serialization.EnumFactory, em abstractions.ErrorMappings) (any, error) {
	v, err := a.GraphRequestAdapter.SendEnum(ctx, ri, f, em)
	return v, convert(ri, err)
}

func (a *adapter) SendCollection(ctx context.Context, ri *abstractions.RequestInformation, f serialization.ParsableFactory, em abstractions.ErrorMappings) ([]serialization.Parsable, error) {
	v, err := a.GraphRequestAdapter.SendCollection(ctx, ri, f, em)
	return v, convert(ri, err)
}

func (a *adapter) SendEnumCollection(ctx context.Context, ri *abstractions.RequestInformation, f serialization.EnumFactory, em abstractions.ErrorMappings) ([]any, error) {
	v, err := a.GraphRequestAdapter.SendEnumCollection(ctx, ri, f, em)
	return v, convert(ri, err)
}

func (a *adapter) SendPrimitive(ctx context.Context, ri *abstractions.RequestInformation, typeName string, em abstractions.ErrorMappings) (any, error) {
	v, err := a.GraphRequestAdapter.SendPrimitive(ctx, ri, typeName, em)
	return v, convert(ri, err)
}

func (a *adapter) SendPrimitiveCollection(ctx context.Context, ri *abstractions.RequestInformation, typeName string, em abstractions.ErrorMappings) ([]any, error) {
	v, err := a.GraphRequestAdapter.SendPrimitiveCollection(ctx, ri, typeName, em)
	return v, convert(ri, err)
}

func (a *adapter) SendNoContent(ctx context.Context, ri *abstractions.RequestInformation, em abstractions.ErrorMappings) error {
	return convert(ri, a.GraphRequestAdapter.SendNoContent(ctx, ri, em))
}

// Error is an error answer from Graph to an SDK call. It matches both
// the SDK's own error (an *odataerrors.ODataError, or a kiota
// *abstractions.ApiError when the body was no Graph error) and a
// *m365link.GraphError built from the same answer, so errors.Is with the
// library's sentinels classifies it (m365link.ErrThrottled,
// m365link.ErrNotFound, ...). Use errors.As: a type assertion on the
// error an SDK call returns no longer finds the SDK's type.
type Error struct {
	// Graph is the answer in the library's terms.
	Graph *m365link.GraphError
	// SDK is the error the SDK returned.
	SDK error
}

// Error formats the library's reading of the answer.
func (e *Error) Error() string { return "graphsdk: " + e.Graph.Error() }

// Unwrap returns both readings, for errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.Graph, e.SDK} }

// callError is a round trip that brought no answer (or a refused one):
// its text names the method and path only, unlike *url.Error's.
type callError struct {
	op  string
	err error
}

func (e *callError) Error() string { return "graphsdk: " + e.op + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// Is matches m365link.ErrUnavailable when the connection failed, as the
// library's own calls do; a refusal, a cancellation or a typed error of
// the library keeps its own kind.
func (e *callError) Is(target error) bool {
	if target != m365link.ErrUnavailable {
		return false
	}
	for _, own := range []error{context.Canceled, context.DeadlineExceeded, m365link.ErrUntrustedLink,
		m365link.ErrThrottled, m365link.ErrReconnectRequired, m365link.ErrMalformedResponse} {
		if errors.Is(e.err, own) {
			return false
		}
	}
	return true
}

// convert gives err (from sending ri) the library's readings.
func convert(ri *abstractions.RequestInformation, err error) error {
	if err == nil {
		return nil
	}
	method, path := requestLine(ri)
	var ue *url.Error
	if errors.As(err, &ue) {
		return &callError{op: method + " " + path, err: ue.Err}
	}
	ge := graphError(err)
	if ge == nil {
		return err
	}
	ge.Method, ge.Path = method, path
	return &Error{Graph: ge, SDK: err}
}

// requestLine returns ri's method and path (without the query).
func requestLine(ri *abstractions.RequestInformation) (method, path string) {
	if ri == nil {
		return "", ""
	}
	method = ri.Method.String()
	if u, err := ri.GetUri(); err == nil && u != nil {
		path = u.EscapedPath()
	}
	return method, path
}

// graphError reads the SDK's error for an answer into a GraphError, nil
// when err is no answer from Graph.
func graphError(err error) *m365link.GraphError {
	var oe *odataerrors.ODataError
	var ae *abstractions.ApiError
	ge := &m365link.GraphError{}
	var headers *abstractions.ResponseHeaders
	switch {
	case errors.As(err, &oe):
		ge.StatusCode, headers = oe.ResponseStatusCode, oe.ResponseHeaders
		if me := oe.GetErrorEscaped(); me != nil {
			ge.Code, ge.Message = deref(me.GetCode()), deref(me.GetMessage())
			if in := me.GetInnerError(); in != nil {
				ge.RequestID, ge.ClientRequestID = deref(in.GetRequestId()), deref(in.GetClientRequestId())
				if d := in.GetDate(); d != nil {
					ge.Date = *d
				}
				if c, ok := in.GetAdditionalData()["code"].(*string); ok {
					ge.InnerCode = deref(c)
				}
			}
		}
	case errors.As(err, &ae):
		ge.StatusCode, headers, ge.Message = ae.ResponseStatusCode, ae.ResponseHeaders, ae.Message
	default:
		return nil
	}
	if ge.Code == "" && ge.Message == "" {
		ge.Message = http.StatusText(ge.StatusCode)
	}
	if headers != nil {
		first := func(k string) string {
			if v := headers.Get(k); len(v) > 0 {
				return v[0]
			}
			return ""
		}
		if v := first("request-id"); v != "" {
			ge.RequestID = v
		}
		if v := first("client-request-id"); v != "" {
			ge.ClientRequestID = v
		}
		now := time.Now()
		if d, err := http.ParseTime(first("Date")); err == nil {
			now = d
			if ge.Date.IsZero() {
				ge.Date = d
			}
		}
		if d, ok := graph.ParseRetryAfter(first("Retry-After"), now); ok {
			ge.RetryAfter = d
		}
	}
	return ge
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
