package api

import (
	"encoding/json"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// batchInputs pairs each element of the inputs array with its exact bytes.
func batchInputs(m *strictjson.Member) []decision.Input {
	arr := m.Value.(*ast.Array) // Elems is only set for arrays
	ins := make([]decision.Input, len(m.Elems))
	for i := range ins {
		ins[i] = decision.Input{Value: arr.Elem(i).Value, Raw: m.Elems[i]}
	}
	return ins
}

// appendOutcome encodes {"decision_id", "revision", "result"} by hand: ids
// and revisions need no escaping, and the result is already JSON.
func appendOutcome(b []byte, out decision.Outcome) []byte {
	b = append(b, `{"decision_id":"`...)
	b = append(b, out.DecisionID...)
	b = append(b, `","revision":`...)
	b = appendJSON(b, out.Revision)
	b = append(b, `,"result":`...)
	b = append(b, out.Result...)
	return append(b, '}')
}

// appendQueryOutcome encodes OPA's Data API response: result is absent when
// the document is undefined.
func appendQueryOutcome(b []byte, out decision.QueryOutcome) []byte {
	b = append(b, `{"decision_id":"`...)
	b = append(b, out.DecisionID...)
	b = append(b, `","revision":`...)
	b = appendJSON(b, out.Revision)
	if out.Result != nil {
		b = append(b, `,"result":`...)
		b = append(b, out.Result...)
	}
	if out.Error != "" {
		b = append(b, `,"error":{"code":"evaluation_error","message":`...)
		b = appendJSON(b, out.Error)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendJSON(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // a string always encodes
	return append(b, enc...)
}
