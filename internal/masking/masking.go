// Package masking keeps the rules that mask decision inputs before they are
// stored, in the spirit of OPA's system.log.mask: a value at a path is
// erased, or replaced by a keyed hash so one subject's decisions stay
// linkable without the raw value ever reaching the log.
package masking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/errs"
)

// Action is what happens to a masked value.
type Action string

// The actions a rule may take.
const (
	Erase Action = "erase" // remove the value from the stored input
	Hash  Action = "hash"  // replace it by HashPrefix and its keyed hash
)

// HashPrefix starts every hashed value, so a hash is never mistaken for
// (or hashed again as) a raw value.
const HashPrefix = "hmac:"

// Rule masks the value at Path, a JSON pointer into the decision, e.g.
// /input/subject/id.
type Rule struct {
	Path   string `json:"path"`
	Action Action `json:"action"`
}

// Validate returns an errs.Invalid error naming the first bad rule.
func Validate(rules []Rule) error {
	seen := map[string]bool{}
	for i, r := range rules {
		if _, err := parsePath(r.Path); err != nil {
			return errs.E(errs.Invalid, "masking[%d].path: %v", i, err)
		}
		if r.Action != Erase && r.Action != Hash {
			return errs.E(errs.Invalid, "masking[%d].action %q: use %q or %q", i, r.Action, Erase, Hash)
		}
		if seen[r.Path] {
			return errs.E(errs.Invalid, "masking[%d].path %q appears twice", i, r.Path)
		}
		seen[r.Path] = true
	}
	return nil
}

// parsePath splits a JSON pointer under /input into object keys.
func parsePath(p string) ([]*ast.Term, error) {
	rest, ok := strings.CutPrefix(p, "/input/")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%q: a JSON pointer into the input, such as /input/subject/id", p)
	}
	var keys []*ast.Term
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" {
			return nil, fmt.Errorf("%q has an empty segment", p)
		}
		keys = append(keys, ast.StringTerm(strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")))
	}
	return keys, nil
}

// Keys returns the object keys of a masked path below input, or nil for a
// path that is not one.
func Keys(path string) []string {
	terms, err := parsePath(path)
	if err != nil {
		return nil
	}
	keys := make([]string, len(terms))
	for i, t := range terms {
		keys[i] = string(t.Value.(ast.String))
	}
	return keys
}

// Masker applies a set of rules with a key. A nil Masker masks nothing.
type Masker struct {
	rules []rule
	key   []byte
}

type rule struct {
	Rule
	keys []*ast.Term
}

// New returns a Masker for rules, hashing with key.
func New(rules []Rule, key []byte) (*Masker, error) {
	if err := Validate(rules); err != nil {
		return nil, err
	}
	m := &Masker{key: key}
	for _, r := range rules {
		keys, _ := parsePath(r.Path)
		m.rules = append(m.rules, rule{Rule: r, keys: keys})
	}
	return m, nil
}

// Hash returns the stored form of a hashed string value. A value that is
// already a hash is returned as it is.
func (m *Masker) Hash(s string) string {
	if strings.HasPrefix(s, HashPrefix) {
		return s
	}
	mac := hmac.New(sha256.New, m.key)
	mac.Write([]byte(s))
	return HashPrefix + hex.EncodeToString(mac.Sum(nil)[:16])
}

// SubjectIDs returns the forms under which subject id may be stored: as
// given, and hashed when a rule hashes subject ids (rows written before the
// rule still hold the raw id).
func (m *Masker) SubjectIDs(id string) []string {
	if m == nil || strings.HasPrefix(id, HashPrefix) {
		return []string{id}
	}
	for _, r := range m.rules {
		if r.Path == "/input/subject/id" && r.Action == Hash {
			return []string{id, m.Hash(id)}
		}
	}
	return []string{id}
}

// Mask returns input with every rule applied and the paths it masked; when
// no rule applies it returns input itself and no paths. input is never
// modified: the objects along a masked path are copied.
func (m *Masker) Mask(input ast.Value) (ast.Value, []string) {
	if m == nil {
		return input, nil
	}
	var paths []string
	for _, r := range m.rules {
		next, ok := rewrite(input, r.keys, func(v ast.Value) (ast.Value, bool) {
			if r.Action == Erase {
				return nil, true
			}
			s, isString := v.(ast.String)
			if !isString {
				s = ast.String(v.String()) // a number or object: hash its text
			}
			return ast.String(m.Hash(string(s))), true
		})
		if ok {
			input = next
			paths = append(paths, r.Path)
		}
	}
	return input, paths
}

// Probe returns input with a sentinel at each of paths, in place of the
// stored value or where an erased one was. A replay evaluates it beside the
// stored input: a different result means the policy's answer depends on a
// masked value, even through a whole object it was handed.
func Probe(input ast.Value, paths []string) ast.Value {
	for _, p := range paths {
		keys, err := parsePath(p)
		if err != nil {
			continue
		}
		if next, ok := set(input, keys, ast.String("signalgate:masked-value-probe")); ok {
			input = next
		}
	}
	return input
}

// set returns v with value at keys, creating the objects along the way; it
// reports false when something on the way is not an object.
func set(v ast.Value, keys []*ast.Term, value ast.Value) (ast.Value, bool) {
	obj, ok := v.(ast.Object)
	if !ok {
		return v, false
	}
	next := value
	if len(keys) > 1 {
		var child ast.Value = ast.NewObject()
		if t := obj.Get(keys[0]); t != nil {
			child = t.Value
		}
		if next, ok = set(child, keys[1:], value); !ok {
			return v, false
		}
	}
	out := ast.NewObject()
	obj.Foreach(func(k, val *ast.Term) {
		if !k.Equal(keys[0]) {
			out.Insert(k, val)
		}
	})
	out.Insert(keys[0], ast.NewTerm(next))
	return out, true
}

// rewrite replaces the value at keys under v with f's result (nil removes
// the key). It reports false, and copies nothing, when the path is absent.
func rewrite(v ast.Value, keys []*ast.Term, f func(ast.Value) (ast.Value, bool)) (ast.Value, bool) {
	obj, ok := v.(ast.Object)
	if !ok {
		return v, false
	}
	child := obj.Get(keys[0])
	if child == nil {
		return v, false
	}
	var next ast.Value
	if len(keys) == 1 {
		next, ok = f(child.Value)
	} else {
		next, ok = rewrite(child.Value, keys[1:], f)
	}
	if !ok {
		return v, false
	}
	out := ast.NewObject()
	obj.Foreach(func(k, val *ast.Term) {
		switch {
		case !k.Equal(keys[0]):
			out.Insert(k, val)
		case next != nil:
			out.Insert(k, ast.NewTerm(next))
		}
	})
	return out, true
}

// Current holds the Masker in force; settings changes swap it.
type Current struct{ p atomic.Pointer[Masker] }

// Load returns the Masker in force (nil masks nothing).
func (c *Current) Load() *Masker {
	if c == nil {
		return nil
	}
	return c.p.Load()
}

// Store puts m in force.
func (c *Current) Store(m *Masker) { c.p.Store(m) }
