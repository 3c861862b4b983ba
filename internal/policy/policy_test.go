package policy_test

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
)

func TestContentHash(t *testing.T) {
	t.Parallel()
	data := func(s string) map[string]any {
		d, err := policy.DecodeData([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := policy.Content{Modules: map[string]string{"a.rego": "package a\n", "b/c.rego": "package c\n"}, Data: data(`{"x": {"b": 1, "a": [1.50, "<&>"]}}`)}
	h1, err := policy.ContentHash(base)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "sha256:") || len(h1) != len("sha256:")+64 {
		t.Fatalf("hash %q", h1)
	}
	same := policy.Content{Modules: map[string]string{"b/c.rego": "package c\n", "a.rego": "package a\n"}, Data: data(`{"x":{"a":[1.50,"<&>"],"b":1}}`)}
	if h2, _ := policy.ContentHash(same); h2 != h1 {
		t.Errorf("identical content, different hashes: %s %s", h1, h2)
	}
	variants := map[string]policy.Content{
		"module bytes": {Modules: map[string]string{"a.rego": "package a \n", "b/c.rego": "package c\n"}, Data: base.Data},
		"module path":  {Modules: map[string]string{"a2.rego": "package a\n", "b/c.rego": "package c\n"}, Data: base.Data},
		"number text":  {Modules: base.Modules, Data: data(`{"x": {"b": 1, "a": [1.5, "<&>"]}}`)},
		"moved bytes":  {Modules: map[string]string{"a.rego": "package a\npackage c\n", "b/c.rego": ""}, Data: base.Data},
	}
	for name, c := range variants {
		if h, _ := policy.ContentHash(c); h == h1 {
			t.Errorf("%s: changed content kept the hash", name)
		}
	}
	canon, _ := policy.CanonicalData(base.Data)
	if string(canon) != `{"x":{"a":[1.50,"<&>"],"b":1}}` {
		t.Errorf("canonical data %s", canon)
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	if policy.FormatID(17) != "r17" {
		t.Error(policy.FormatID(17))
	}
	if n, err := policy.ParseID("r17"); n != 17 || err != nil {
		t.Errorf("ParseID(r17) = %d, %v", n, err)
	}
	for _, bad := range []string{"17", "r", "r0", "r-1", "rx", "R17", ""} {
		if _, err := policy.ParseID(bad); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ParseID(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestLoadFS(t *testing.T) {
	t.Parallel()
	c, err := policy.LoadFS(fstest.MapFS{
		"a.rego":          {Data: []byte("package a\n")},
		"sub/b_test.rego": {Data: []byte("package b\n")},
		"data.json":       {Data: []byte(`{"n": 12345678901234567890}`)},
		"README.md":       {Data: []byte("ignored")},
		".git/x.rego":     {Data: []byte("hidden")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Modules) != 2 || c.Modules["sub/b_test.rego"] != "package b\n" {
		t.Errorf("modules %v", c.Modules)
	}
	if n, _ := c.Data["n"].(json.Number); n.String() != "12345678901234567890" {
		t.Errorf("a large number lost precision: %v", c.Data["n"])
	}
	for name, fsys := range map[string]fstest.MapFS{
		"second data file": {"a.rego": {Data: []byte("package a")}, "data.json": {Data: []byte(`{}`)}, "more/data.json": {Data: []byte(`{}`)}},
		"data not object":  {"a.rego": {Data: []byte("package a")}, "data.json": {Data: []byte(`[1]`)}},
		"no modules":       {"data.json": {Data: []byte(`{}`)}},
	} {
		if _, err := policy.LoadFS(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
