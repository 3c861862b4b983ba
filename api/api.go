// Package api serves the decision API: native single and batch decisions,
// and OPA's REST Data API for clients built for OPA.
package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// Body limits: a decision input is small; a batch is at most 1000 of them.
const (
	MaxDecisionBody = 64 << 10
	MaxBatchBody    = 4 << 20
)

// Decider makes and records decisions.
type Decider interface {
	Decide(ctx context.Context, client string, in decision.Input) (decision.Outcome, error)
	DecideBatch(ctx context.Context, client string, ins []decision.Input) ([]decision.Outcome, error)
	Query(ctx context.Context, client string, path []string, in *decision.Input) (decision.QueryOutcome, error)
}

// Routes are the decision API's route templates, for logging and the
// OpenAPI check.
var Routes = []string{"/v1/decisions", "/v1/decisions/batch", "/v1/data/*path"}

// Register mounts the decision API on r behind authn; callers need the
// decider role (admin includes it).
func Register(r gin.IRouter, authn gin.HandlerFunc, d Decider) {
	h := handler{d: d}
	g := r.Group("/v1", authn, httpx.Require(auth.Decider))
	g.POST("/decisions", h.decide)
	g.POST("/decisions/batch", h.batch)
	g.POST("/data/*path", h.data)
}

type handler struct{ d Decider }

func client(c *gin.Context) string {
	p, _ := httpx.PrincipalOf(c)
	return p.Client()
}

func parse(c *gin.Context, limit int64) ([]strictjson.Member, func(), error) {
	body, release, err := httpx.ReadBody(c, limit)
	if err != nil {
		return nil, release, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, release, nil
	}
	members, err := strictjson.ParseObject(body, strictjson.DefaultLimits)
	if err != nil {
		return nil, release, errs.E(errs.Invalid, "request body: %v", err)
	}
	return members, release, nil
}

// only returns the one member named allowed (nil when absent) and refuses
// any other, naming the expected shape.
func only(members []strictjson.Member, allowed string, shape string) (*strictjson.Member, error) {
	var found *strictjson.Member
	for i := range members {
		if members[i].Key != allowed {
			return nil, errs.E(errs.Invalid, "unknown field %q: the body must be %s", members[i].Key, shape)
		}
		found = &members[i]
	}
	return found, nil
}

func (h handler) decide(c *gin.Context) {
	members, release, err := parse(c, MaxDecisionBody)
	defer release()
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	m, err := only(members, "input", `{"input": {...}}`)
	if err == nil && m == nil {
		err = errs.E(errs.Invalid, `missing "input": the body must be {"input": {...}}`)
	}
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out, err := h.d.Decide(c.Request.Context(), client(c), decision.Input{Value: m.Value, Raw: m.Raw})
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.Header(RevisionHeader, out.Revision)
	c.Data(http.StatusOK, "application/json", appendOutcome(make([]byte, 0, 160+len(out.Result)), out))
}

// RevisionHeader names the revision that decided, on every decision response.
const RevisionHeader = "X-Signalgate-Revision"

func (h handler) batch(c *gin.Context) {
	members, release, err := parse(c, MaxBatchBody)
	defer release()
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	m, err := only(members, "inputs", `{"inputs": [{...}, ...]}`)
	if err == nil && m == nil {
		err = errs.E(errs.Invalid, `missing "inputs": the body must be {"inputs": [{...}, ...]}`)
	}
	if err == nil && (m.Elems == nil || len(m.Elems) == 0 || len(m.Elems) > decision.MaxBatch) {
		err = errs.E(errs.Invalid, `"inputs" must be an array of 1 to %d inputs`, decision.MaxBatch)
	}
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	ins := batchInputs(m)
	outs, err := h.d.DecideBatch(c.Request.Context(), client(c), ins)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	b := make([]byte, 0, len(outs)*200+16)
	b = append(b, `{"decisions":[`...)
	for i, out := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOutcome(b, out)
	}
	b = append(b, "]}"...)
	if len(outs) > 0 {
		c.Header(RevisionHeader, outs[0].Revision)
	}
	c.Data(http.StatusOK, "application/json", b)
}

func (h handler) data(c *gin.Context) {
	path, err := dataPath(c.Param("path"))
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	members, release, err := parse(c, MaxDecisionBody)
	defer release()
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	var in *decision.Input
	// OPA ignores other fields of a Data API body; so do we, for its clients.
	for i := range members {
		if members[i].Key == "input" {
			in = &decision.Input{Value: members[i].Value, Raw: members[i].Raw}
		}
	}
	out, err := h.d.Query(c.Request.Context(), client(c), path, in)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.Header(RevisionHeader, out.Revision)
	c.Data(http.StatusOK, "application/json", appendQueryOutcome(nil, out))
}

// dataPath splits a Data API path into its segments; an empty path is the
// whole data document, as in OPA.
func dataPath(raw string) ([]string, error) {
	raw = strings.Trim(raw, "/")
	if raw == "" {
		return nil, nil
	}
	segs := strings.Split(raw, "/")
	for _, s := range segs {
		if s == "" {
			return nil, errs.E(errs.Invalid, "data path %q has an empty segment", raw)
		}
	}
	return segs, nil
}
