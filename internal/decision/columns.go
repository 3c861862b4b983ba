package decision

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
)

var (
	keySignal  = ast.StringTerm("signal")
	keySubject = ast.StringTerm("subject")
	keySource  = ast.StringTerm("source")
	keyPurpose = ast.StringTerm("purpose")
	keyRegion  = ast.StringTerm("region")
	keyID      = ast.StringTerm("id")
	keyAllow   = ast.StringTerm("allow")
	keyReasons = ast.StringTerm("reasons")
	keyCode    = ast.StringTerm("code")
)

// maxColumn bounds the filter columns copied from an input: they are for
// searching, and the full value stays in the input column.
const maxColumn = 200

// regionAliases are the ISO 3166 exceptions DESIGN.md honours, applied so a
// search for GB finds inputs that said UK.
var regionAliases = map[string]string{"UK": "GB", "EL": "GR"}

// fillColumns copies the input's source, purpose, region and subject id into
// the entry's filter columns.
func fillColumns(e *decisionlog.Entry, input ast.Value) {
	obj, ok := input.(ast.Object)
	if !ok {
		return
	}
	var source, purpose, region, subject string
	if sig, ok := get(obj, keySignal).(ast.Object); ok {
		source = str(get(sig, keySource))
	}
	purpose = str(get(obj, keyPurpose))
	if sub, ok := get(obj, keySubject).(ast.Object); ok {
		region = strings.ToUpper(str(get(sub, keyRegion)))
		if a, ok := regionAliases[region]; ok {
			region = a
		}
	}
	subject = subjectID(input)
	e.Source, e.Purpose, e.Region, e.Subject = source, purpose, region, subject
}

// subjectID is the input's subject.id as the subject column keeps it, or "".
func subjectID(input ast.Value) string {
	obj, ok := input.(ast.Object)
	if !ok {
		return ""
	}
	sub, ok := get(obj, keySubject).(ast.Object)
	if !ok {
		return ""
	}
	switch id := get(sub, keyID).(type) {
	case ast.String:
		return clip(string(id))
	case ast.Number:
		return clip(string(id))
	}
	return ""
}

func get(obj ast.Object, key *ast.Term) ast.Value {
	if t := obj.Get(key); t != nil {
		return t.Value
	}
	return nil
}

func str(v ast.Value) string {
	if s, ok := v.(ast.String); ok {
		return clip(string(s))
	}
	return ""
}

// clip shortens s to at most maxColumn bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxColumn {
		return s
	}
	cut := maxColumn
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// summarize derives the allow and reason_codes columns from a Data API
// result: a boolean is the verdict itself; an object lends its allow and the
// codes of its reasons.
func summarize(v ast.Value) (*bool, []string) {
	switch r := v.(type) {
	case ast.Boolean:
		b := bool(r)
		return &b, nil
	case ast.Object:
		var allow *bool
		if b, ok := get(r, keyAllow).(ast.Boolean); ok {
			x := bool(b)
			allow = &x
		}
		var codes []string
		collect := func(t *ast.Term) {
			if o, ok := t.Value.(ast.Object); ok {
				if c, ok := get(o, keyCode).(ast.String); ok {
					codes = append(codes, string(c))
				}
			}
		}
		switch rs := get(r, keyReasons).(type) {
		case ast.Set:
			rs.Foreach(collect)
		case *ast.Array:
			rs.Foreach(collect)
		}
		return allow, dedupe(codes)
	}
	return nil, nil
}

func dedupe(codes []string) []string {
	if len(codes) < 2 {
		return codes
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// ValueJSON encodes an OPA value as JSON (sets become arrays, as OPA's API
// returns them), without the detour through Go maps and reflection: it runs
// for every Data API answer and every masked input. Strings go through
// decisionlog.AppendString, so NUL and invalid UTF-8, which jsonb refuses,
// become U+FFFD.
func ValueJSON(v ast.Value) ([]byte, error) { return appendValue(nil, v) }

// ResultJSON encodes a native decision's result as the log keeps it.
func ResultJSON(r engine.Result) []byte { return appendResult(nil, r) }

func appendValue(b []byte, v ast.Value) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case ast.Null:
		return append(b, "null"...), nil
	case ast.Boolean:
		return strconv.AppendBool(b, bool(x)), nil
	case ast.Number:
		return append(b, x...), nil
	case ast.String:
		return decisionlog.AppendString(b, string(x)), nil
	case *ast.Array:
		b = append(b, '[')
		for i := range x.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, x.Elem(i).Value); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case ast.Set:
		b = append(b, '[')
		first := true
		err = x.Iter(func(t *ast.Term) error {
			if !first {
				b = append(b, ',')
			}
			first = false
			b, err = appendValue(b, t.Value)
			return err
		})
		return append(b, ']'), err
	case ast.Object:
		b = append(b, '{')
		first := true
		err = x.Iter(func(k, val *ast.Term) error {
			if !first {
				b = append(b, ',')
			}
			first = false
			if key, ok := k.Value.(ast.String); ok {
				b = decisionlog.AppendString(b, string(key))
			} else { // OPA's API names a non-string key by its JSON text
				text, err := appendValue(nil, k.Value)
				if err != nil {
					return err
				}
				b = decisionlog.AppendString(b, string(text))
			}
			b = append(b, ':')
			b, err = appendValue(b, val.Value)
			return err
		})
		return append(b, '}'), err
	}
	return nil, fmt.Errorf("%s cannot be encoded as JSON: it requires evaluation", ast.TypeName(v))
}

// appendResult encodes a native result without reflection: it is on the
// path of every decision.
func appendResult(b []byte, r engine.Result) []byte {
	if r.Allow {
		b = append(b, `{"allow":true,"reasons":[`...)
	} else {
		b = append(b, `{"allow":false,"reasons":[`...)
	}
	for i, reason := range r.Reasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"code":`...)
		b = decisionlog.AppendString(b, reason.Code)
		b = append(b, `,"detail":`...)
		b = decisionlog.AppendString(b, reason.Detail)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// Columns fills e's filter columns (source, purpose, region, subject) and
// its allow and reason codes from an input and a result, as for a native
// decision; result may be nil (undefined). Decisions made elsewhere (OPA
// agents) are logged through it, so searches treat both alike.
func Columns(e *decisionlog.Entry, input, result ast.Value) {
	if input != nil {
		fillColumns(e, input)
	}
	if result != nil {
		e.Allow, e.ReasonCodes = summarize(result)
	}
}

var keyObservedAt = ast.StringTerm("observed_at")

// ArrivedAt returns input as if it had arrived at asOf instead of decidedAt,
// and the instant to pin time to (asOf at the log's precision):
// signal.observed_at, when it is an RFC 3339 instant, moves by the same
// offset (keeping its zone), so "as of" simulations keep the gap between
// observing a signal and deciding on it. input itself is not modified.
func ArrivedAt(input ast.Value, decidedAt, asOf time.Time) (ast.Value, time.Time) {
	at := asOf.UTC().Truncate(time.Microsecond)
	obj, ok := input.(ast.Object)
	if !ok {
		return input, at
	}
	sig, ok := get(obj, keySignal).(ast.Object)
	if !ok {
		return input, at
	}
	s, ok := get(sig, keyObservedAt).(ast.String)
	if !ok {
		return input, at
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return input, at
	}
	moved := t.Add(asOf.Sub(decidedAt)).Format(time.RFC3339Nano)
	return replaceKey(obj, keySignal, replaceKey(sig, keyObservedAt, ast.String(moved))), at
}

// replaceKey returns a copy of obj with key set to v.
func replaceKey(obj ast.Object, key *ast.Term, v ast.Value) ast.Object {
	out := ast.NewObject()
	obj.Foreach(func(k, val *ast.Term) {
		if k.Equal(key) {
			out.Insert(k, ast.NewTerm(v))
		} else {
			out.Insert(k, val)
		}
	})
	return out
}
