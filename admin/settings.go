package admin

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/settings"
)

// Settings reads and changes the deployment-wide settings.
type Settings interface {
	Get(ctx context.Context) (settings.Settings, error)
	Update(ctx context.Context, actor, requestID string, patch []byte) (settings.Settings, error)
}

// RegisterSettings mounts GET (any admin-API role) and PUT (admin) of
// /admin/v1/settings.
func RegisterSettings(r gin.IRouter, authn gin.HandlerFunc, s Settings) {
	g := r.Group("/admin/v1", authn)
	g.GET("/settings", httpx.Require(auth.Viewer), func(c *gin.Context) {
		v, err := s.Get(c.Request.Context())
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, v)
	})
	g.PUT("/settings", httpx.Require(auth.Admin), func(c *gin.Context) {
		body, release, err := httpx.ReadBody(c, 16<<10)
		defer release()
		if err == nil {
			err = validJSON(body)
		}
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		who := actor(c)
		v, err := s.Update(c.Request.Context(), who.Name, who.RequestID, body)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, v)
	})
}
