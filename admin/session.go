package admin

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/httpx"
)

// Sessions signs people in and out of the web UI.
type Sessions interface {
	Login(ctx context.Context, name, password, addr, requestID string) (string, auth.Principal, error)
	Logout(ctx context.Context, secret string, p auth.Principal, requestID string) error
}

// RegisterSessions mounts POST /admin/v1/login (open), GET /admin/v1/session
// (who is signed in: the UI's start) and POST /admin/v1/logout.
func RegisterSessions(r gin.IRouter, authn gin.HandlerFunc, s Sessions) {
	g := r.Group("/admin/v1")
	g.POST("/login", func(c *gin.Context) {
		// A cross-site form must not sign a victim into someone else's account.
		if err := httpx.CheckCrossOrigin(c.Request); err != nil {
			httpx.WriteError(c, err)
			return
		}
		var req struct {
			User     string `json:"user"`
			Password string `json:"password"`
		}
		if err := readJSON(c, 4<<10, &req); err != nil {
			httpx.WriteError(c, err)
			return
		}
		secret, p, err := s.Login(c.Request.Context(), req.User, req.Password, c.ClientIP(), httpx.RequestID(c))
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		setSessionCookie(c, secret, int(auth.SessionAbsolute.Seconds()))
		c.JSON(http.StatusOK, gin.H{"user": p.User, "roles": p.Roles})
	})
	g.GET("/session", authn, func(c *gin.Context) {
		p := principal(c)
		via := "session"
		if p.TokenID != "" {
			via = "token"
		}
		c.JSON(http.StatusOK, gin.H{"user": p.User, "roles": p.Roles, "via": via})
	})
	g.POST("/logout", authn, func(c *gin.Context) {
		if secret, err := c.Cookie(auth.SessionCookie); err == nil {
			if err := s.Logout(c.Request.Context(), secret, principal(c), actor(c).RequestID); err != nil {
				httpx.WriteError(c, err)
				return
			}
		}
		setSessionCookie(c, "", -1)
		c.Status(http.StatusNoContent)
	})
}

// setSessionCookie sets (or, with maxAge < 0, clears) the session cookie:
// HttpOnly, SameSite=Strict, Secure whenever the request came over TLS.
func setSessionCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: auth.SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}
