package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/fleet"
	"github.com/signalgate/signalgate/internal/httpx"
)

// Fleet reads what agents reported.
type Fleet interface {
	Agents(ctx context.Context) ([]fleet.Agent, error)
	Quarantined(ctx context.Context, newest int) (int64, []fleet.Rejected, error)
	Instances(ctx context.Context, since time.Time) ([]fleet.Instance, error)
}

type instanceResponse struct {
	Node      string    `json:"node"`
	Version   string    `json:"version"`
	Revision  string    `json:"revision"`
	Lagging   bool      `json:"lagging"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
}

type agentResponse struct {
	ID       string            `json:"id"`
	Version  string            `json:"version"`
	Revision string            `json:"revision"`
	Lagging  bool              `json:"lagging"` // runs a revision other than the active one
	Plugins  map[string]string `json:"plugins"`
	Errors   []string          `json:"errors"`
	LastSeen time.Time         `json:"last_seen"`
}

type quarantinedResponse struct {
	Agent  string `json:"agent"`
	Reason string `json:"reason"`
	Event  string `json:"event"`
}

// RegisterFleet mounts GET /admin/v1/agents: the signalgate instances alive
// and every OPA agent, with the revision each runs (laggards flagged), and
// the events in quarantine.
func RegisterFleet(r gin.IRouter, authn gin.HandlerFunc, f Fleet, active func() string) {
	r.GET("/admin/v1/agents", authn, httpx.Require(auth.Viewer), func(c *gin.Context) {
		ctx := c.Request.Context()
		agents, err := f.Agents(ctx)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		n, recent, err := f.Quarantined(ctx, 20)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		instances, err := f.Instances(ctx, time.Now().Add(-fleet.InstanceStale))
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		rev := active()
		out := struct {
			Active      string                `json:"active"`
			Instances   []instanceResponse    `json:"instances"`
			Agents      []agentResponse       `json:"agents"`
			Lagging     int                   `json:"lagging"`
			Quarantined int64                 `json:"quarantined"`
			Recent      []quarantinedResponse `json:"recent_quarantined"`
		}{Active: rev, Instances: make([]instanceResponse, len(instances)), Agents: make([]agentResponse, len(agents)),
			Quarantined: n, Recent: make([]quarantinedResponse, len(recent))}
		for i, in := range instances {
			out.Instances[i] = instanceResponse{Node: in.Node, Version: in.Version, Revision: in.Revision,
				Lagging: in.Revision != rev, StartedAt: in.StartedAt, LastSeen: in.LastSeen}
		}
		for i, a := range agents {
			out.Agents[i] = agentResponse{ID: a.ID, Version: a.Version, Revision: a.Revision, Lagging: a.Revision != rev,
				Plugins: a.Plugins, Errors: nonNil(a.Errors), LastSeen: a.LastSeen}
			if out.Agents[i].Lagging {
				out.Lagging++
			}
		}
		for i, q := range recent {
			out.Recent[i] = quarantinedResponse{Agent: q.Agent, Reason: q.Reason, Event: q.Event}
		}
		c.JSON(http.StatusOK, out)
	})
}
