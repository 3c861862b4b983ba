package decision

import (
	"encoding/json"
	"slices"
	"testing"
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
