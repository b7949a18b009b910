package fakegraph

import (
	"errors"
	"net/http"
	"strings"
)

// propFilter is the $filter that finds messages by a single-value extended
// property:
//
//	singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq '{value}')
type propFilter struct {
	id, value string
}

// idMatches compares property IDs as Exchange does: the type and GUID
// (or tag) case-insensitively, the name after " Name " exactly.
func (f *propFilter) idMatches(id string) bool {
	a, an, aNamed := strings.Cut(f.id, " Name ")
	b, bn, bNamed := strings.Cut(id, " Name ")
	return aNamed == bNamed && an == bn && strings.EqualFold(a, b)
}

// parsePropFilter returns nil, nil for a $filter that is not on extended
// properties, and a 400 for one that is but cannot be read.
func (s *Server) parsePropFilter(rc *reqCtx, v string) (*propFilter, *result) {
	f, ok, err := parsePropFilterText(v)
	if !ok {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(rc, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter '"+v+"' is not supported: "+err.Error()+".")
	}
	return &f, nil
}

const propFilterPrefix = "singlevalueextendedproperties/any("

// parsePropFilterText parses the filter; ok says whether v is a filter on
// extended properties at all. The two comparisons may come in either
// order; keywords are case-insensitive; string literals double their
// single quotes, as OData's do.
func parsePropFilterText(v string) (f propFilter, ok bool, err error) {
	t := strings.TrimSpace(v)
	if len(t) < len(propFilterPrefix) || !strings.EqualFold(t[:len(propFilterPrefix)], propFilterPrefix) {
		return f, false, nil
	}
	t = t[len(propFilterPrefix):]
	colon := strings.IndexByte(t, ':')
	if colon <= 0 {
		return f, true, errors.New("no lambda variable")
	}
	v0 := strings.TrimSpace(t[:colon])
	if v0 == "" || strings.ContainsAny(v0, " '()/") {
		return f, true, errors.New("bad lambda variable")
	}
	p := &filterScanner{s: t[colon+1:]}
	var haveID, haveValue bool
	for i := 0; i < 2; i++ {
		if i == 1 && !p.keyword("and") {
			return f, true, errors.New("expected 'and'")
		}
		p.space()
		if !p.literalFold(v0 + "/") {
			return f, true, errors.New("expected " + v0 + "/")
		}
		var dst *string
		switch {
		case p.literalFold("id"):
			dst, haveID = &f.id, true
		case p.literalFold("value"):
			dst, haveValue = &f.value, true
		default:
			return f, true, errors.New("expected id or value")
		}
		if !p.keyword("eq") {
			return f, true, errors.New("expected 'eq'")
		}
		p.space()
		lit, okLit := p.quoted()
		if !okLit {
			return f, true, errors.New("bad string literal")
		}
		*dst = lit
	}
	if !haveID || !haveValue {
		return f, true, errors.New("needs one comparison of id and one of value")
	}
	p.space()
	if p.s != ")" {
		return f, true, errors.New("expected ')' at the end")
	}
	return f, true, nil
}

type filterScanner struct{ s string }

func (p *filterScanner) space() { p.s = strings.TrimLeft(p.s, " ") }

func (p *filterScanner) literalFold(w string) bool {
	if len(p.s) < len(w) || !strings.EqualFold(p.s[:len(w)], w) {
		return false
	}
	p.s = p.s[len(w):]
	return true
}

// keyword reads a space-delimited keyword.
func (p *filterScanner) keyword(w string) bool {
	if !strings.HasPrefix(p.s, " ") {
		return false
	}
	p.space()
	if !p.literalFold(w) || !strings.HasPrefix(p.s, " ") {
		return false
	}
	return true
}

// quoted reads a quoted literal, in which a doubled quote stands for one.
func (p *filterScanner) quoted() (string, bool) {
	if !strings.HasPrefix(p.s, "'") {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(p.s); i++ {
		if p.s[i] != '\'' {
			b.WriteByte(p.s[i])
			continue
		}
		if i+1 < len(p.s) && p.s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		p.s = p.s[i+1:]
		return b.String(), true
	}
	return "", false
}
