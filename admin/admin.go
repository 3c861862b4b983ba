// Package admin serves the admin API: the policy draft, validation,
// publishing, revisions and rollback, and the audit trail.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/impact"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// MaxDraftBody bounds a draft upload: every module at its limit would not
// fit, but any realistic policy does.
const MaxDraftBody = 8 << 20

// adminLimits are looser than the decision API's: a taxonomy may list many
// topics.
var adminLimits = strictjson.Limits{MaxDepth: 64, MaxWidth: 100000}

// Policies is the policy lifecycle the handlers drive.
type Policies interface {
	Draft(ctx context.Context) (policy.Draft, error)
	SaveDraft(ctx context.Context, who policy.Actor, c policy.Content, ifMatch string) (policy.Draft, error)
	Validate(ctx context.Context) (policy.Report, error)
	Publish(ctx context.Context, who policy.Actor, message string, activate bool) (policy.Revision, error)
	Approve(ctx context.Context, who policy.Actor, hash string) error
	Activate(ctx context.Context, who policy.Actor, id string) (policy.Revision, error)
	Revisions(ctx context.Context, limit int) ([]policy.Revision, error)
	Revision(ctx context.Context, id string) (policy.Revision, error)
	Diff(ctx context.Context, from, to string) ([]policy.ModuleDiff, []policy.DataChange, error)
	Evaluate(ctx context.Context, input ast.Value, target string, at time.Time) (policy.Evaluation, error)
	ActiveID() string
}

// Register mounts the admin API on r behind authn.
func Register(r gin.IRouter, authn gin.HandlerFunc, p Policies, trail audit.Store, impacts impact.Store) {
	h := handler{p: p, trail: trail, impacts: impacts}
	g := r.Group("/admin/v1", authn)
	g.GET("/draft", httpx.Require(auth.Viewer), h.getDraft)
	g.PUT("/draft", httpx.Require(auth.Editor), h.putDraft)
	g.POST("/draft/validate", httpx.Require(auth.Editor), h.validate)
	g.POST("/draft/publish", httpx.Require(auth.Publisher), h.publish)
	g.POST("/draft/approve", httpx.Require(auth.Publisher), h.approve)
	g.GET("/revisions", httpx.Require(auth.Viewer), h.revisions)
	g.GET("/revisions/:rev", httpx.Require(auth.Viewer), h.revision)
	g.POST("/revisions/:rev/activate", httpx.Require(auth.Publisher), h.activate)
	g.GET("/revisions/:rev/diff/:other", httpx.Require(auth.Viewer), h.diff)
	g.GET("/audit", httpx.Require(auth.Viewer), h.audit)
	g.GET("/audit/verify", httpx.Require(auth.Viewer), h.verifyAudit)
	g.POST("/evaluate", httpx.Require(auth.Viewer), h.evaluate)
}

type handler struct {
	p       Policies
	trail   audit.Store
	impacts impact.Store
}

func actor(c *gin.Context) policy.Actor {
	p, _ := httpx.PrincipalOf(c)
	return policy.Actor{Name: p.User, RequestID: httpx.RequestID(c)}
}

// etag quotes a content hash as an HTTP entity tag.
func etag(hash string) string { return `"` + hash + `"` }

// validJSON refuses what the strict decoder refuses.
func validJSON(body []byte) error {
	if _, err := strictjson.Parse(body, adminLimits); err != nil {
		return errs.E(errs.Invalid, "request body: %v", err)
	}
	return nil
}

// readJSON reads a body no larger than limit into v, refusing what the
// strict decoder refuses (duplicate keys, NUL, invalid UTF-8) and unknown
// fields.
func readJSON(c *gin.Context, limit int64, v any) error {
	body, release, err := httpx.ReadBody(c, limit)
	defer release()
	if err != nil {
		return err
	}
	if err := validJSON(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errs.E(errs.Invalid, "request body: %v", err)
	}
	return nil
}

func (h handler) getDraft(c *gin.Context) {
	d, err := h.p.Draft(c.Request.Context())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.Header("ETag", etag(d.ContentHash))
	c.JSON(http.StatusOK, toDraftResponse(d))
}

func (h handler) putDraft(c *gin.Context) {
	var req draftRequest
	if err := readJSON(c, MaxDraftBody, &req); err != nil {
		httpx.WriteError(c, err)
		return
	}
	content, err := req.toContent()
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	ifMatch := strings.Trim(strings.TrimPrefix(c.GetHeader("If-Match"), "W/"), `"`)
	d, err := h.p.SaveDraft(c.Request.Context(), actor(c), content, ifMatch)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.Header("ETag", etag(d.ContentHash))
	c.JSON(http.StatusOK, toDraftResponse(d))
}

func (h handler) validate(c *gin.Context) {
	r, err := h.p.Validate(c.Request.Context())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, toReportResponse(r))
}

func (h handler) publish(c *gin.Context) {
	var req publishRequest
	if err := readJSON(c, 64<<10, &req); err != nil {
		httpx.WriteError(c, err)
		return
	}
	activate := req.Activate == nil || *req.Activate
	rev, err := h.p.Publish(c.Request.Context(), actor(c), req.Message, activate)
	if err != nil {
		writePolicyError(c, err)
		return
	}
	c.JSON(http.StatusCreated, publishResponse{Revision: rev.ID(), ContentHash: rev.ContentHash, Active: activate,
		Impact: latestImpact(c.Request.Context(), h.impacts, rev.ContentHash, time.Now())})
}

func (h handler) revisions(c *gin.Context) {
	revs, err := h.p.Revisions(c.Request.Context(), 0)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := revisionsResponse{Revisions: make([]revisionResponse, len(revs)), Active: h.p.ActiveID()}
	for i, r := range revs {
		out.Revisions[i] = toRevisionResponse(r, out.Active)
	}
	c.JSON(http.StatusOK, out)
}

func (h handler) revision(c *gin.Context) {
	r, err := h.p.Revision(c.Request.Context(), c.Param("rev"))
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, toRevisionDetail(r, h.p.ActiveID()))
}

func (h handler) activate(c *gin.Context) {
	r, err := h.p.Activate(c.Request.Context(), actor(c), c.Param("rev"))
	if err != nil {
		writePolicyError(c, err)
		return
	}
	c.JSON(http.StatusOK, toRevisionResponse(r, r.ID()))
}

func (h handler) audit(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	entries, err := h.trail.List(c.Request.Context(), f)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, toAuditResponse(entries, f.Limit))
}

// verifyAudit checks the whole trail's hash chain, as `signalgate audit
// verify` does, for the UI.
func (h handler) verifyAudit(c *gin.Context) {
	v, n := audit.NewVerifier(), 0
	var b *audit.Break
	err := h.trail.Each(c.Request.Context(), func(e audit.Entry) error {
		if n++; b == nil {
			b = v.Next(e)
		}
		return nil
	})
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := gin.H{"intact": true, "entries": n}
	if b != nil {
		out["intact"] = false
		out["break"] = gin.H{"seq": b.Seq, "reason": b.Reason}
	}
	c.JSON(http.StatusOK, out)
}

func (h handler) diff(c *gin.Context) {
	from, to := c.Param("rev"), c.Param("other")
	mods, changes, err := h.p.Diff(c.Request.Context(), from, to)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDiffResponse(from, to, mods, changes))
}

func (h handler) evaluate(c *gin.Context) {
	body, release, err := httpx.ReadBody(c, 64<<10)
	defer release()
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	req, err := parseEvaluateRequest(body)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	ev, err := h.p.Evaluate(c.Request.Context(), req.input, req.target, req.at)
	if err != nil {
		writePolicyError(c, err)
		return
	}
	c.JSON(http.StatusOK, toEvaluateResponse(ev))
}

type approveRequest struct {
	ContentHash string `json:"content_hash"`
}

func (h handler) approve(c *gin.Context) {
	var req approveRequest
	if err := readJSON(c, 16<<10, &req); err != nil {
		httpx.WriteError(c, err)
		return
	}
	if err := h.p.Approve(c.Request.Context(), actor(c), req.ContentHash); err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"approved": req.ContentHash})
}
