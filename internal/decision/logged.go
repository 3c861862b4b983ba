package decision

import (
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/strictjson"
)

// loggedLimits bound parsing an input read back from the decision log: it
// passed the API's limits on its way in, so these only keep an edited row
// from costing more.
var loggedLimits = strictjson.Limits{MaxDepth: 64, MaxWidth: 1 << 20}

// ParseLogged parses an input read back from the decision log; nil (no
// input was logged) gives nil.
func ParseLogged(raw []byte) (ast.Value, error) {
	if raw == nil {
		return nil, nil
	}
	return strictjson.Parse(raw, loggedLimits)
}
