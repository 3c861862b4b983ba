package admin

import (
	"encoding/json"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/strictjson"
)

type evaluateRequest struct {
	input  ast.Value
	target string
	at     time.Time
}

// parseEvaluateRequest reads {"input", "revision"?, "as_of"?} with the
// decision API's strictness.
func parseEvaluateRequest(body []byte) (evaluateRequest, error) {
	members, err := strictjson.ParseObject(body, strictjson.DefaultLimits)
	if err != nil {
		return evaluateRequest{}, errs.E(errs.Invalid, "request body: %v", err)
	}
	req := evaluateRequest{at: time.Now()}
	for _, m := range members {
		switch m.Key {
		case "input":
			req.input = m.Value
		case "revision":
			s, ok := m.Value.(ast.String)
			if !ok {
				return req, errs.E(errs.Invalid, `"revision" must be "draft" or a revision such as "r3"`)
			}
			req.target = string(s)
		case "as_of":
			s, ok := m.Value.(ast.String)
			t, err := time.Parse(time.RFC3339Nano, string(s))
			if !ok || err != nil {
				return req, errs.E(errs.Invalid, `"as_of" must be an RFC 3339 instant such as "2025-12-16T00:00:00Z"`)
			}
			req.at = t
		default:
			return req, errs.E(errs.Invalid, `unknown field %q: the body is {"input": {...}, "revision": "draft", "as_of": "..."}`, m.Key)
		}
	}
	if req.input == nil {
		return req, errs.E(errs.Invalid, `missing "input"`)
	}
	if req.target != "" && req.target != policy.DraftName {
		if _, err := policy.ParseID(req.target); err != nil {
			return req, err
		}
	}
	return req, nil
}

type ruleHitResponse struct {
	Rule  string          `json:"rule"`
	File  string          `json:"file"`
	Row   int             `json:"row"`
	Value json.RawMessage `json:"value"`
}

type explainedReason struct {
	Code   string            `json:"code"`
	Detail string            `json:"detail"`
	Rules  []ruleHitResponse `json:"rules"`
}

type explanationResponse struct {
	Reasons []explainedReason `json:"reasons"`
	Rules   []ruleHitResponse `json:"rules"`
	Fails   []string          `json:"fails"`
}

type evaluateResponse struct {
	Revision    string              `json:"revision"`
	AsOf        time.Time           `json:"as_of"`
	Result      engine.Result       `json:"result"`
	EvalNS      int64               `json:"eval_ns"`
	Explanation explanationResponse `json:"explanation"`
}

// maxHits bounds the rule hits shown.
const maxHits = 500

func toEvaluateResponse(ev policy.Evaluation) evaluateResponse {
	ex := ev.Explanation
	out := evaluateResponse{Revision: ev.Target, AsOf: ev.At, Result: ex.Decision.Result, EvalNS: ex.Decision.EvalNS,
		Explanation: explanationResponse{Reasons: []explainedReason{}, Rules: []ruleHitResponse{}, Fails: ex.Fails}}
	if out.Explanation.Fails == nil {
		out.Explanation.Fails = []string{}
	}
	hits := make([]ruleHitResponse, 0, len(ex.Hits))
	for _, h := range ex.Hits {
		v, err := ast.JSON(h.Value)
		if err != nil {
			continue
		}
		raw, _ := json.Marshal(v)
		hits = append(hits, ruleHitResponse{Rule: h.Rule, File: h.Location.File, Row: h.Location.Row, Value: raw})
	}
	for _, r := range ex.Decision.Result.Reasons {
		want, _ := json.Marshal(map[string]string{"code": r.Code, "detail": r.Detail})
		er := explainedReason{Code: r.Code, Detail: r.Detail, Rules: []ruleHitResponse{}}
		for _, h := range hits {
			if string(h.Value) == string(want) {
				er.Rules = append(er.Rules, h)
			}
		}
		out.Explanation.Reasons = append(out.Explanation.Reasons, er)
	}
	if len(hits) > maxHits {
		hits = hits[:maxHits]
	}
	out.Explanation.Rules = hits
	return out
}
