package decision

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
)

// TestAppendResult: the hand-written encoder gives JSON that encoding/json
// reads back, and never bytes jsonb refuses.
func TestAppendResult(t *testing.T) {
	t.Parallel()
	r := engine.Result{Reasons: []engine.Reason{
		{Code: "a", Detail: `quote " backslash \ tab 	 newline` + "\n"},
		{Code: "b", Detail: "nul \x00 bad \xff utf-8 ü ✓"},
	}}
	b := appendResult(nil, r)
	if !utf8.Valid(b) {
		t.Fatalf("invalid UTF-8: %q", b)
	}
	var back engine.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := []engine.Reason{r.Reasons[0], {Code: "b", Detail: "nul \ufffd bad \ufffd utf-8 ü ✓"}}
	if back.Allow || !slices.Equal(back.Reasons, want) {
		t.Errorf("round trip = %+v, want %+v", back, want)
	}
	if got := string(appendResult(nil, engine.Result{Allow: true, Reasons: []engine.Reason{}})); got != `{"allow":true,"reasons":[]}` {
		t.Errorf("allow = %s", got)
	}
}

// TestColumns: the filter columns come from the input, normalised the way
// searches will ask for them.
func TestColumns(t *testing.T) {
	t.Parallel()
	var e decisionlog.Entry
	fillColumns(&e, ast.MustParseTerm(`{"signal": {"source": "ai_chat"}, "purpose": "ads", "subject": {"id": 42, "region": "uk"}}`).Value)
	if e.Source != "ai_chat" || e.Purpose != "ads" || e.Region != "GB" || e.Subject != "42" {
		t.Errorf("columns = %q %q %q %q", e.Source, e.Purpose, e.Region, e.Subject)
	}
	var none decisionlog.Entry
	fillColumns(&none, ast.MustParseTerm(`{"signal": 5, "purpose": 3, "subject": {"region": ["FR"]}}`).Value)
	if none.Source != "" || none.Purpose != "" || none.Region != "" || none.Subject != "" {
		t.Errorf("malformed fields gave columns %+v", none)
	}
	cases := []struct {
		result string
		allow  *bool
		codes  []string
	}{
		{`true`, ptr(true), nil},
		{`{"allow": false, "reasons": {{"code": "minor"}, {"code": "invalid_input", "detail": "x"}, {"code": "invalid_input", "detail": "y"}}}`, ptr(false), []string{"invalid_input", "minor"}},
		{`{"x": 1}`, nil, nil},
		{`"text"`, nil, nil},
	}
	for _, tc := range cases {
		allow, codes := summarize(ast.MustParseTerm(tc.result).Value)
		if (allow == nil) != (tc.allow == nil) || (allow != nil && *allow != *tc.allow) || !slices.Equal(codes, tc.codes) {
			t.Errorf("summarize(%s) = %v %v, want %v %v", tc.result, allow, codes, tc.allow, tc.codes)
		}
	}
}

func ptr(b bool) *bool { return &b }

func TestArrivedAt(t *testing.T) {
	in := ast.MustParseTerm(`{"signal": {"source": "ai_chat", "observed_at": "2026-01-10T13:00:00+01:00"}, "purpose": "ads"}`).Value
	decided := time.Date(2026, 1, 10, 12, 0, 5, 0, time.UTC)
	asOf := time.Date(2025, 12, 15, 0, 0, 5, 0, time.UTC)
	got, _ := ArrivedAt(in, decided, asOf)
	want := ast.MustParseTerm(`{"signal": {"source": "ai_chat", "observed_at": "2025-12-15T01:00:00+01:00"}, "purpose": "ads"}`).Value
	if got.Compare(want) != 0 {
		t.Errorf("moved input = %s", got)
	}
	if in.Compare(ast.MustParseTerm(`{"signal": {"source": "ai_chat", "observed_at": "2026-01-10T13:00:00+01:00"}, "purpose": "ads"}`).Value) != 0 {
		t.Error("the input was modified")
	}
	for _, same := range []string{`{"signal": {"source": "x"}}`, `{"signal": {"observed_at": "soon"}}`, `"text"`} {
		v := ast.MustParseTerm(same).Value
		if got, _ := ArrivedAt(v, decided, asOf); got.Compare(v) != 0 {
			t.Errorf("%s changed", same)
		}
	}
}

// TestValueJSON: values encode as OPA's own conversion does (compared as
// JSON), with NUL and invalid UTF-8 made text jsonb accepts.
func TestValueJSON(t *testing.T) {
	for _, src := range []string{
		`null`, `true`, `1.5e3`, `-0`, `"a\"b\\c<>&"`, `[]`, `{}`, `[1,[2,{"a":[]}],"x"]`,
		`{"b":{"c":[true,false,null]},"a":"é ☃"}`, `{1: "one", [2]: "two", {"k": 3}: "three"}`, `{1, 2, "three"}`, `set()`,
	} {
		v := ast.MustParseTerm(src).Value
		got, err := ValueJSON(v)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		x, err := ast.JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(x)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s encodes as invalid JSON %s: %v", src, got, err)
		}
		_ = json.Unmarshal(want, &w)
		if gs, ws := fmt.Sprint(sortSets(g)), fmt.Sprint(sortSets(w)); gs != ws {
			t.Errorf("%s: %s, want %s", src, got, want)
		}
	}
	got, err := ValueJSON(ast.NewObject(ast.Item(ast.StringTerm("k\x00"), ast.StringTerm("a\x00b\xffc"))))
	if err != nil || string(got) != "{\"k\ufffd\":\"a\ufffdb\ufffdc\"}" {
		t.Errorf("NUL and invalid UTF-8: %s, %v", got, err)
	}
	if _, err := ValueJSON(ast.MustParseRef("data.x")); err == nil {
		t.Error("a reference encoded as JSON")
	}
}

// sortSets orders arrays of scalars so sets compare whatever their order.
func sortSets(x any) any {
	switch v := x.(type) {
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = fmt.Sprint(sortSets(e))
		}
		slices.Sort(out)
		return out
	case map[string]any:
		for k, e := range v {
			v[k] = sortSets(e)
		}
	}
	return x
}
