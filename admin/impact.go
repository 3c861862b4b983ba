package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/impact"
)

// ImpactRunner starts impact analyses.
type ImpactRunner interface {
	Start(ctx context.Context, actor string, p impact.Params) (impact.Job, error)
}

type impactResponse struct {
	Job            string         `json:"job"`
	State          string         `json:"state"`
	DraftHash      string         `json:"draft_hash"`
	ActiveRevision string         `json:"active_revision"`
	Params         impact.Params  `json:"params"`
	Total          int64          `json:"total"`
	Done           int64          `json:"done"`
	Progress       float64        `json:"progress"` // 0 to 1
	CreatedAt      time.Time      `json:"created_at"`
	CreatedBy      string         `json:"created_by"`
	Node           string         `json:"node"`
	UpdatedAt      time.Time      `json:"updated_at"`
	FinishedAt     *time.Time     `json:"finished_at,omitempty"`
	ElapsedMS      int64          `json:"elapsed_ms"`
	Error          string         `json:"error,omitempty"`
	Result         *impact.Result `json:"result,omitempty"`
}

func toImpactResponse(j impact.Job) impactResponse {
	out := impactResponse{Job: j.ID.String(), State: j.State, DraftHash: j.DraftHash, ActiveRevision: j.ActiveRevision,
		Params: j.Params, Total: j.Total, Done: j.Done, CreatedAt: j.CreatedAt, CreatedBy: j.CreatedBy, Node: j.Node,
		UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt, Error: j.Error, Result: j.Result}
	switch {
	case j.State == impact.Done:
		out.Progress = 1
	case j.Total > 0:
		out.Progress = min(1, float64(j.Done)/float64(j.Total))
	}
	end := j.UpdatedAt
	if j.FinishedAt != nil {
		end = *j.FinishedAt
	}
	out.ElapsedMS = end.Sub(j.CreatedAt).Milliseconds()
	return out
}

// RegisterImpact mounts impact analysis: start one on the draft, follow it,
// list recent ones.
func RegisterImpact(r gin.IRouter, authn gin.HandlerFunc, run ImpactRunner, jobs impact.Store, now func() time.Time) {
	g := r.Group("/admin/v1", authn)
	g.POST("/draft/impact", httpx.Require(auth.Editor), func(c *gin.Context) {
		var p impact.Params
		if c.Request.ContentLength != 0 {
			if err := readJSON(c, 4<<10, &p); err != nil {
				httpx.WriteError(c, err)
				return
			}
		}
		j, err := run.Start(c.Request.Context(), actor(c).Name, p)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.Header("Location", "/admin/v1/impact/"+j.ID.String())
		c.JSON(http.StatusAccepted, toImpactResponse(j))
	})
	g.GET("/impact/:job", httpx.Require(auth.Viewer), func(c *gin.Context) {
		id, err := uuid.Parse(c.Param("job"))
		if err != nil {
			httpx.WriteError(c, errs.E(errs.Invalid, "job %q is not a job id", c.Param("job")))
			return
		}
		j, err := impact.Read(c.Request.Context(), jobs, id, now())
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, toImpactResponse(j))
	})
	g.GET("/impact", httpx.Require(auth.Viewer), func(c *gin.Context) {
		limit, err := intQuery(c, "limit", 20, 1, 100)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		list, err := impact.List(c.Request.Context(), jobs, c.Query("draft_hash"), limit, now())
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		out := struct {
			Jobs []impactResponse `json:"jobs"`
		}{Jobs: make([]impactResponse, len(list))}
		for i, j := range list {
			out.Jobs[i] = toImpactResponse(j)
		}
		c.JSON(http.StatusOK, out)
	})
}

// latestImpact returns the newest analysis of content hash, or nil.
func latestImpact(ctx context.Context, jobs impact.Store, hash string, now time.Time) *impactResponse {
	if jobs == nil {
		return nil
	}
	list, err := impact.List(ctx, jobs, hash, 1, now)
	if err != nil || len(list) == 0 {
		return nil
	}
	r := toImpactResponse(list[0])
	return &r
}
