package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// CheckModules finds what compiles but is still refused: packages under
// the reserved root `system`, and `with` replacing a builtin by, or with,
// one outside the capability set (the trick of CVE-2022-36085).
func CheckModules(modules map[string]*ast.Module) CompileErrors {
	var out CompileErrors
	caps := Capabilities()
	allowed := make(map[string]bool, len(caps.Builtins))
	for _, b := range caps.Builtins {
		allowed[b.Name] = true
	}
	loc := func(l *ast.Location, path string) Location {
		if l == nil {
			return Location{File: path}
		}
		return Location{File: path, Row: l.Row, Col: l.Col}
	}
	for _, path := range sortedKeys(modules) {
		m := modules[path]
		if len(m.Package.Path) > 1 && m.Package.Path[1].Equal(ast.StringTerm("system")) {
			out = append(out, CompileError{Location: loc(m.Package.Location, path),
				Message: "package " + m.Package.Path.String() + ": the system root is reserved; use another package"})
		}
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			for _, w := range e.With {
				for _, t := range []*ast.Term{w.Target, w.Value} {
					ref, ok := t.Value.(ast.Ref)
					if !ok {
						continue
					}
					name := ref.String()
					if _, builtin := ast.BuiltinMap[name]; builtin && !allowed[name] {
						out = append(out, CompileError{Location: loc(w.Location, path),
							Message: fmt.Sprintf("with %s: the builtin %s is not allowed in signalgate policies", w.Target, name)})
					}
				}
			}
			return false
		})
	}
	return out
}

// SchemaError is one place where a document does not match its schema.
type SchemaError struct {
	Path    string // dotted JSON path, e.g. targeting.rollouts.ai_chat.ads.start
	Message string
}

// CheckSchema validates doc against a JSON Schema (draft 4 to 7), using
// OPA's own json.match_schema so that no second validator is needed.
func CheckSchema(ctx context.Context, doc any, schema []byte) ([]SchemaError, error) {
	var s any
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	rs, err := rego.New(
		rego.Query("[ok, errs] := json.match_schema(input.doc, input.schema)"),
		rego.Input(map[string]any{"doc": doc, "schema": s}),
		rego.StrictBuiltinErrors(true),
	).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("check schema: %w", err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("check schema: no result")
	}
	if ok, _ := rs[0].Bindings["ok"].(bool); ok {
		return nil, nil
	}
	raw, _ := rs[0].Bindings["errs"].([]any)
	out := make([]SchemaError, 0, len(raw))
	for _, r := range raw {
		m, _ := r.(map[string]any)
		field, _ := m["field"].(string)
		desc, _ := m["desc"].(string)
		if field == "(root)" {
			field = ""
		}
		out = append(out, SchemaError{Path: field, Message: desc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
