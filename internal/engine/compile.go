package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Content is what a revision consists of: module sources keyed by their path
// relative to policies/, and the data document.
type Content struct {
	Modules map[string]string
	Data    map[string]any
}

// Location is where a compile error was found; Row and Col are 0 when the
// error has no place.
type Location struct {
	File string
	Row  int
	Col  int
}

// CompileError is one problem found while parsing or compiling.
type CompileError struct {
	Location
	Message string
}

// CompileErrors is every problem found in a policy; it is the error Compile
// returns for a policy that does not compile.
type CompileErrors []CompileError

func (e CompileErrors) Error() string {
	var b strings.Builder
	for i, ce := range e {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s:%d:%d: %s", ce.File, ce.Row, ce.Col, ce.Message)
	}
	return b.String()
}

// forbidden reports whether a builtin is outside signalgate's capability set:
// no network, no runtime introspection, no randomness, so that a decision is a
// pure function of its input, its data and its pinned time.
func forbidden(name string) bool {
	return name == "http.send" || name == "opa.runtime" ||
		strings.HasPrefix(name, "net.") || strings.HasPrefix(name, "rand.") ||
		strings.HasPrefix(name, "uuid.")
}

// Capabilities returns the restricted capability set policies compile with.
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if !forbidden(b.Name) {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	caps.AllowNet = []string{}
	return caps
}

// Policy is one compiled revision, ready to evaluate.
type Policy struct {
	revision string
	compiler *ast.Compiler
	store    storage.Store
	// txn is a read transaction held for the policy's lifetime: the store is
	// never written after compiling, and one shared transaction saves a lock
	// round trip on every evaluation.
	txn    storage.Transaction
	decide query

	mu      sync.Mutex
	queries map[string]query
}

// query is a compiled query, evaluated directly by OPA's topdown evaluator:
// the rego package would rebuild an evaluation context and a result set
// around every call, a tenth of a small policy's cost.
type query struct {
	body ast.Body
	qc   ast.QueryCompiler
}

// compileQuery compiles body against the policy's modules.
func compileQuery(c *ast.Compiler, body ast.Body) (query, error) {
	qc := c.QueryCompiler()
	compiled, err := qc.Compile(body)
	if err != nil {
		return query{}, err
	}
	return query{body: compiled, qc: qc}, nil
}

// decisionQuery asks for exactly the two rules of the answer; unification
// (=) rather than := keeps the variable names as written in the results.
var decisionQuery = ast.MustParseBody("allow = data.signalgate.decision.allow; reasons = data.signalgate.decision.reasons")

// Revision is the identifier of the revision this policy was compiled from.
func (p *Policy) Revision() string { return p.revision }

// Compiler is the policy's compiled module set, for callers that inspect it.
func (p *Policy) Compiler() *ast.Compiler { return p.compiler }

// ParseModules parses every module as Rego v1, collecting all errors.
func ParseModules(modules map[string]string) (map[string]*ast.Module, error) {
	parsed := make(map[string]*ast.Module, len(modules))
	var errs CompileErrors
	for _, path := range sortedKeys(modules) {
		m, err := ast.ParseModuleWithOpts(path, modules[path], ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, fromASTErrors(path, err)...)
			continue
		}
		parsed[path] = m
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return parsed, nil
}

// Compile parses and compiles c with the restricted capabilities and
// prepares the decision query. It returns CompileErrors when the policy does
// not compile or lacks the signalgate.decision entry point.
func Compile(ctx context.Context, revision string, c Content) (*Policy, error) {
	parsed, err := ParseModules(c.Modules)
	if err != nil {
		return nil, err
	}
	store := dataStore(c.Data)
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("open policy store: %w", err)
	}
	compiler := ast.NewCompiler().
		WithCapabilities(Capabilities()).
		WithEnablePrintStatements(false).
		WithPathConflictsCheck(storage.NonEmpty(ctx, store, txn))
	if compiler.Compile(parsed); compiler.Failed() {
		return nil, fromASTErrors("", compiler.Errors)
	}
	if !hasRule(compiler, "allow") || !hasRule(compiler, "reasons") {
		return nil, CompileErrors{{Message: "the entry point package " + Entrypoint + " must define the rules allow and reasons"}}
	}
	decide, err := compileQuery(compiler, decisionQuery)
	if err != nil {
		return nil, fromASTErrors("", err)
	}
	return &Policy{
		revision: revision,
		compiler: compiler,
		store:    store,
		txn:      txn,
		decide:   decide,
		queries:  map[string]query{},
	}, nil
}

// dataStore holds the data document as AST values, so evaluations read it
// without converting it on every access. Nothing writes to it afterwards.
func dataStore(data map[string]any) storage.Store {
	if data == nil {
		data = map[string]any{}
	}
	return inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
}

func hasRule(c *ast.Compiler, name string) bool {
	ref := ast.MustParseRef("data." + Entrypoint + "." + name)
	return len(c.GetRulesExact(ref)) > 0
}

func fromASTErrors(file string, err error) CompileErrors {
	var list ast.Errors
	switch e := err.(type) {
	case ast.Errors:
		list = e
	case *ast.Error:
		list = ast.Errors{e}
	default:
		return CompileErrors{{Location: Location{File: file}, Message: err.Error()}}
	}
	out := make(CompileErrors, 0, len(list))
	for _, e := range list {
		ce := CompileError{Location: Location{File: file}, Message: e.Message}
		if e.Location != nil {
			ce.File = e.Location.File
			ce.Row = e.Location.Row
			ce.Col = e.Location.Col
		}
		if ce.File == "" {
			ce.File = file
		}
		out = append(out, ce)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
