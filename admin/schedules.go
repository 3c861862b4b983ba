package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/policy"
)

// Schedules schedules revisions' activations.
type Schedules interface {
	Schedule(ctx context.Context, who policy.Actor, id string, at time.Time) (policy.Schedule, error)
	Cancel(ctx context.Context, who policy.Actor, id int64) (policy.Schedule, error)
	List(ctx context.Context, limit int) ([]policy.Schedule, error)
}

type scheduleResponse struct {
	ID         int64      `json:"id"`
	Revision   string     `json:"revision"`
	At         time.Time  `json:"at"`
	State      string     `json:"state"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
}

func toScheduleResponse(s policy.Schedule) scheduleResponse {
	return scheduleResponse{ID: s.ID, Revision: policy.FormatID(s.Revision), At: s.At, State: s.State, CreatedBy: s.CreatedBy,
		CreatedAt: s.CreatedAt, ResolvedAt: s.ResolvedAt, ResolvedBy: s.ResolvedBy}
}

// RegisterSchedules mounts scheduled activation: POST /admin/v1/schedules
// {"revision", "at"} (publisher; the revision was approved when published),
// GET /admin/v1/schedules, DELETE /admin/v1/schedules/{id} (publisher).
func RegisterSchedules(r gin.IRouter, authn gin.HandlerFunc, s Schedules) {
	g := r.Group("/admin/v1/schedules", authn)
	g.GET("", httpx.Require(auth.Viewer), func(c *gin.Context) {
		list, err := s.List(c.Request.Context(), 200)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		out := make([]scheduleResponse, len(list))
		for i, sc := range list {
			out[i] = toScheduleResponse(sc)
		}
		c.JSON(http.StatusOK, gin.H{"schedules": out})
	})
	g.POST("", httpx.Require(auth.Publisher), func(c *gin.Context) {
		var req struct {
			Revision string    `json:"revision"`
			At       time.Time `json:"at"`
		}
		if err := readJSON(c, 4<<10, &req); err != nil {
			httpx.WriteError(c, err)
			return
		}
		if req.Revision == "" || req.At.IsZero() {
			httpx.WriteError(c, errs.E(errs.Invalid, `the body is {"revision": "r3", "at": "2025-12-16T00:00:00Z"}`))
			return
		}
		sc, err := s.Schedule(c.Request.Context(), actor(c), req.Revision, req.At)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusCreated, toScheduleResponse(sc))
	})
	g.DELETE("/:id", httpx.Require(auth.Publisher), func(c *gin.Context) {
		id, ok := numericID(c, "schedule")
		if !ok {
			return
		}
		sc, err := s.Cancel(c.Request.Context(), actor(c), id)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, toScheduleResponse(sc))
	})
}
