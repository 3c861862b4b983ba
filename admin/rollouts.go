package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/rollout"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/shadow"
)

// Rollouts runs progressive rollouts.
type Rollouts interface {
	Start(ctx context.Context, who policy.Actor, candidate string, steps []rollout.Step) (rollout.Rollout, error)
	Step(ctx context.Context, who policy.Actor, id int64, percent int) (rollout.Rollout, error)
	Rollback(ctx context.Context, who policy.Actor, id int64, reason string) (rollout.Rollout, error)
	Complete(ctx context.Context, who policy.Actor, id int64) (rollout.Rollout, error)
	List(ctx context.Context, limit int) ([]rollout.Rollout, error)
	Get(ctx context.Context, id int64, g settings.GuardRails) (rollout.Report, error)
}

// GuardRails reads the guard rails in force.
type GuardRails func(ctx context.Context) (settings.GuardRails, error)

type rolloutResponse struct {
	ID        int64          `json:"id"`
	Candidate string         `json:"candidate"`
	Baseline  string         `json:"baseline"`
	State     string         `json:"state"`
	Percent   int            `json:"percent"` // the share in force now
	Steps     []rollout.Step `json:"steps"`
	NextStep  *rollout.Step  `json:"next_step"`
	CreatedBy string         `json:"created_by"`
	CreatedAt time.Time      `json:"created_at"`
	EndedAt   *time.Time     `json:"ended_at,omitempty"`
	EndedBy   string         `json:"ended_by,omitempty"`
	EndReason string         `json:"end_reason,omitempty"`
}

func toRolloutResponse(r rollout.Rollout, now time.Time) rolloutResponse {
	out := rolloutResponse{ID: r.ID, Candidate: policy.FormatID(r.Candidate), Baseline: policy.FormatID(r.Baseline), State: r.State,
		Steps: r.Steps, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, EndedAt: r.EndedAt, EndedBy: r.EndedBy, EndReason: r.EndReason}
	if r.State == rollout.Running {
		out.Percent, out.NextStep = r.Percent(now), r.Next(now)
	}
	return out
}

// tallyResponse is a rollout's comparison over a span: how the candidate
// and the active revision (the baseline) decided the same inputs.
type tallyResponse struct {
	Start             *time.Time `json:"start,omitempty"` // of the minute, in a series
	Decisions         int64      `json:"decisions"`
	CandidateDenyRate float64    `json:"candidate_deny_rate"`
	BaselineDenyRate  float64    `json:"baseline_deny_rate"`
	CandidateErrRate  float64    `json:"candidate_error_rate"`
	BaselineErrRate   float64    `json:"baseline_error_rate"`
	Disagreed         int64      `json:"disagreed"`
}

func toTally(t shadow.Tally) tallyResponse {
	out := tallyResponse{Decisions: t.Decisions, Disagreed: t.Disagreed}
	if t.Decisions > 0 {
		n := float64(t.Decisions)
		out.CandidateDenyRate, out.BaselineDenyRate = float64(t.CandidateDenied)/n, float64(t.BaselineDenied)/n
		out.CandidateErrRate, out.BaselineErrRate = float64(t.CandidateErrors)/n, float64(t.BaselineErrors)/n
	}
	return out
}

// RegisterRollouts mounts progressive rollout: GET /admin/v1/rollouts (with
// the guard rails in force), GET /admin/v1/rollouts/{id} (with its
// comparison: over the guard rails' window, per minute, and recent
// disagreements), and, for publishers, POST /admin/v1/rollouts
// {"candidate", "steps"}, POST .../{id}/step {"percent"}, POST
// .../{id}/rollback {"reason"} and POST .../{id}/complete. The candidate
// was approved when it was published, as with schedules.
func RegisterRollouts(r gin.IRouter, authn gin.HandlerFunc, s Rollouts, rails GuardRails) {
	g := r.Group("/admin/v1/rollouts", authn)
	g.GET("", httpx.Require(auth.Viewer), func(c *gin.Context) {
		list, err := s.List(c.Request.Context(), 100)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		gr, err := rails(c.Request.Context())
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		now := time.Now()
		out := make([]rolloutResponse, len(list))
		for i, ro := range list {
			out[i] = toRolloutResponse(ro, now)
		}
		c.JSON(http.StatusOK, gin.H{"rollouts": out, "guard_rails": gr, "percents": rollout.Percents})
	})
	g.GET("/:id", httpx.Require(auth.Viewer), func(c *gin.Context) {
		id, ok := numericID(c, "rollout")
		if !ok {
			return
		}
		gr, err := rails(c.Request.Context())
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		rep, err := s.Get(c.Request.Context(), id, gr)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		series := make([]tallyResponse, len(rep.Series))
		for i, p := range rep.Series {
			series[i] = toTally(p.Tally)
			start := p.Bucket.UTC()
			series[i].Start = &start
		}
		samples := make([]shadowSample, len(rep.Samples))
		for i, d := range rep.Samples {
			samples[i] = toShadowSample(d)
		}
		c.JSON(http.StatusOK, gin.H{"rollout": toRolloutResponse(rep.Rollout, time.Now()), "guard_rails": gr,
			"window": toTally(rep.Window), "series": series, "samples": samples})
	})
	g.POST("", httpx.Require(auth.Publisher), func(c *gin.Context) {
		var req struct {
			Candidate string         `json:"candidate"`
			Steps     []rollout.Step `json:"steps"`
		}
		if err := readJSON(c, 8<<10, &req); err != nil {
			httpx.WriteError(c, err)
			return
		}
		if req.Candidate == "" || len(req.Steps) == 0 {
			httpx.WriteError(c, errs.E(errs.Invalid, `the body is {"candidate": "r3", "steps": [{"percent": 1}, {"percent": 5, "at": "2025-12-16T00:00:00Z"}]}`))
			return
		}
		ro, err := s.Start(c.Request.Context(), actor(c), req.Candidate, req.Steps)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusCreated, toRolloutResponse(ro, time.Now()))
	})
	g.POST("/:id/step", httpx.Require(auth.Publisher), func(c *gin.Context) {
		id, ok := numericID(c, "rollout")
		if !ok {
			return
		}
		var req struct {
			Percent int `json:"percent"`
		}
		if err := readJSON(c, 1<<10, &req); err != nil {
			httpx.WriteError(c, err)
			return
		}
		respond(c, func(ctx context.Context) (rollout.Rollout, error) { return s.Step(ctx, actor(c), id, req.Percent) })
	})
	g.POST("/:id/rollback", httpx.Require(auth.Publisher), func(c *gin.Context) {
		id, ok := numericID(c, "rollout")
		if !ok {
			return
		}
		var req struct {
			Reason string `json:"reason"`
		}
		if c.Request.ContentLength != 0 { // the reason is optional
			if err := readJSON(c, 4<<10, &req); err != nil {
				httpx.WriteError(c, err)
				return
			}
		}
		respond(c, func(ctx context.Context) (rollout.Rollout, error) { return s.Rollback(ctx, actor(c), id, req.Reason) })
	})
	g.POST("/:id/complete", httpx.Require(auth.Publisher), func(c *gin.Context) {
		id, ok := numericID(c, "rollout")
		if !ok {
			return
		}
		respond(c, func(ctx context.Context) (rollout.Rollout, error) { return s.Complete(ctx, actor(c), id) })
	})
}

func respond(c *gin.Context, change func(context.Context) (rollout.Rollout, error)) {
	ro, err := change(c.Request.Context())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusOK, toRolloutResponse(ro, time.Now()))
}

// numericID reads the :id path parameter of a what (a rollout, a
// schedule); on a malformed one it answers 400 and returns false.
func numericID(c *gin.Context, what string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		httpx.WriteError(c, errs.E(errs.Invalid, "%s id %q is not a number", what, c.Param("id")))
		return 0, false
	}
	return id, true
}
