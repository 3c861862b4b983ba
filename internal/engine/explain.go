package engine

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
)

// RuleHit is one rule that produced a value during an evaluation: for the
// reasons set, one hit per reason a rule contributed.
type RuleHit struct {
	Rule     string // e.g. data.signalgate.decision.reasons
	Location Location
	Value    ast.Value
}

// Explanation is a decision with how it came about.
type Explanation struct {
	Decision Decision
	Hits     []RuleHit
	Fails    []string // OPA's trace of failed expressions ("explain=fails"), capped
}

// maxFailLines bounds the failure trace returned to a reader.
const maxFailLines = 300

// Explain decides input like Decide, tracing the evaluation to report which
// rules produced values and which expressions failed. It is for the
// playground: tracing makes it far slower than Decide.
func (p *Policy) Explain(ctx context.Context, input ast.Value, at time.Time, timeout time.Duration) Explanation {
	buf := topdown.NewBufferTracer()
	ex := Explanation{Decision: p.decideTraced(ctx, input, at, timeout, buf)}
	for _, ev := range *buf {
		rule, ok := ev.Node.(*ast.Rule)
		if ev.Op != topdown.ExitOp || !ok {
			continue
		}
		head := rule.Head.Value
		if rule.Head.Key != nil {
			head = rule.Head.Key
		}
		if head == nil {
			continue
		}
		hit := RuleHit{Rule: rule.Path().String(), Value: resolve(ev, head)}
		if rule.Location != nil {
			hit.Location = Location{File: rule.Location.File, Row: rule.Location.Row, Col: rule.Location.Col}
		}
		ex.Hits = append(ex.Hits, hit)
	}
	var fails bytes.Buffer
	topdown.PrettyTraceWithLocation(&fails, lineage.Fails(*buf))
	lines := strings.Split(strings.TrimRight(fails.String(), "\n"), "\n")
	if len(lines) > maxFailLines {
		lines = append(lines[:maxFailLines], "… (trace cut)")
	}
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	ex.Fails = lines
	return ex
}

// resolve fills the rule head's variables from the event's bindings and
// local values, so a hit shows the value the rule produced.
func resolve(ev *topdown.Event, head *ast.Term) ast.Value {
	t := ev.Plug(head)
	if ev.Locals == nil {
		return t.Value
	}
	out, err := ast.TransformVars(t.Copy(), func(v ast.Var) (ast.Value, error) {
		if x := ev.Locals.Get(v); x != nil {
			return x, nil
		}
		return v, nil
	})
	if err != nil {
		return t.Value
	}
	switch v := out.(type) {
	case *ast.Term:
		return v.Value
	case ast.Value:
		return v
	}
	return t.Value
}
