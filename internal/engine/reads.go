package engine

import "github.com/open-policy-agent/opa/v1/ast"

// Reads reports whether the policy's code refers to the input value at path
// (keys below input), or to anything below it: `input.subject.id` and
// `input.subject.id[_]` read /input/subject/id, and a variable in a
// reference (`input.subject[k]`) matches any key. A reference to an
// enclosing value only (`object.get(input.subject, "minor", false)`) is not
// counted: it is what most policies do with the objects they validate.
func (p *Policy) Reads(path []string) bool {
	found := false
	for _, m := range p.compiler.Modules {
		ast.WalkRefs(m, func(ref ast.Ref) bool {
			if found || len(ref) <= len(path) || !ref[0].Equal(ast.InputRootDocument) {
				return found
			}
			for i, key := range path {
				switch t := ref[i+1].Value.(type) {
				case ast.Var:
				case ast.String:
					if string(t) != key {
						return false
					}
				default:
					return false
				}
			}
			found = true
			return true
		})
		if found {
			return true
		}
	}
	return false
}
