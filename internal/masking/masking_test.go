package masking_test

import (
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/masking"
)

func TestMaskHashesAndErasesWithoutTouchingTheInput(t *testing.T) {
	m, err := masking.New([]masking.Rule{
		{Path: "/input/subject/id", Action: masking.Hash},
		{Path: "/input/signal/text", Action: masking.Erase},
		{Path: "/input/absent/path", Action: masking.Erase},
	}, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	in := ast.MustParseTerm(`{"subject": {"id": "u-1", "region": "FR"}, "signal": {"text": "secret", "source": "ai_chat"}}`).Value
	before := in.String()
	out, paths := m.Mask(in)
	if in.String() != before {
		t.Fatalf("the input was modified: %s", in)
	}
	if strings.Join(paths, ",") != "/input/subject/id,/input/signal/text" {
		t.Errorf("masked paths %v", paths)
	}
	want := ast.MustParseTerm(`{"subject": {"id": "` + m.Hash("u-1") + `", "region": "FR"}, "signal": {"source": "ai_chat"}}`).Value
	if out.Compare(want) != 0 {
		t.Errorf("masked = %s, want %s", out, want)
	}
	if h := m.Hash("u-1"); !strings.HasPrefix(h, masking.HashPrefix) || h == m.Hash("u-2") || m.Hash(h) != h {
		t.Errorf("hash %s", h)
	}
	other, _ := masking.New(nil, []byte("another key, another hash......."))
	if other.Hash("u-1") == m.Hash("u-1") {
		t.Error("the hash does not depend on the key")
	}
	if ids := m.SubjectIDs("u-1"); len(ids) != 2 || ids[1] != m.Hash("u-1") {
		t.Errorf("subject ids %v", ids)
	}
	if ids := other.SubjectIDs("u-1"); len(ids) != 1 {
		t.Errorf("subject ids without a hash rule %v", ids)
	}
	var none *masking.Masker
	if v, paths := none.Mask(in); v != in || paths != nil {
		t.Error("a nil masker masked something")
	}
}

func TestProbeSetsErasedPaths(t *testing.T) {
	in := ast.MustParseTerm(`{"subject": {"id": "u-1"}}`).Value
	out := masking.Probe(in, []string{"/input/subject/region", "/input/signal/text"})
	want := ast.MustParseTerm(`{"subject": {"id": "u-1", "region": "signalgate:masked-value-probe"}, "signal": {"text": "signalgate:masked-value-probe"}}`).Value
	if out.Compare(want) != 0 {
		t.Errorf("probe = %s", out)
	}
}

func TestValidate(t *testing.T) {
	for _, rules := range [][]masking.Rule{
		{{Path: "/subject/id", Action: masking.Hash}},
		{{Path: "/input/", Action: masking.Hash}},
		{{Path: "/input/a//b", Action: masking.Hash}},
		{{Path: "/input/a", Action: "shred"}},
		{{Path: "/input/a", Action: masking.Hash}, {Path: "/input/a", Action: masking.Erase}},
	} {
		if err := masking.Validate(rules); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%v: %v, want invalid", rules, err)
		}
	}
	if err := masking.Validate([]masking.Rule{{Path: "/input/a~1b/c", Action: masking.Erase}}); err != nil {
		t.Error(err)
	}
}
