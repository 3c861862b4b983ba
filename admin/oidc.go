package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/oidc"
)

// SingleSignOn is the OpenID Connect issuer.
type SingleSignOn interface {
	Start(ctx context.Context) (redirect, state, nonce, verifier string, err error)
	Finish(ctx context.Context, code, verifier, nonce string) (oidc.Identity, error)
	Roles(id oidc.Identity) []auth.Role
}

// ExternalSessions opens sessions for users an issuer vouched for.
type ExternalSessions interface {
	LoginExternal(ctx context.Context, name string, roles []auth.Role, addr, requestID string) (string, auth.Principal, error)
}

// flowCookie carries state, nonce and PKCE verifier from the redirect to the
// callback. SameSite=Lax: it must come back on the issuer's top-level
// redirect, which Strict would drop.
const flowCookie = "sg_oidc"

// RegisterOIDC mounts the open single sign-on routes: the redirect to the
// issuer and its callback, which opens a session and returns to the UI.
func RegisterOIDC(r gin.IRouter, sso SingleSignOn, sessions ExternalSessions) {
	g := r.Group("/admin/v1/login/oidc")
	g.GET("", func(c *gin.Context) {
		redirect, state, nonce, verifier, err := sso.Start(c.Request.Context())
		if err != nil {
			httpx.WriteError(c, errs.Wrap(errs.Unavailable, err, "the single sign-on issuer cannot be reached"))
			return
		}
		http.SetCookie(c.Writer, &http.Cookie{Name: flowCookie, Value: state + "." + nonce + "." + verifier,
			Path: "/admin/v1/login/oidc", MaxAge: int((10 * time.Minute).Seconds()),
			HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteLaxMode})
		c.Redirect(http.StatusFound, redirect)
	})
	g.GET("/callback", func(c *gin.Context) {
		flow, err := c.Cookie(flowCookie)
		parts := strings.Split(flow, ".")
		if err != nil || len(parts) != 3 || c.Query("state") == "" || c.Query("state") != parts[0] {
			httpx.WriteError(c, errs.E(errs.Unauthenticated, "this sign-in did not start here or took too long: start again"))
			return
		}
		if e := c.Query("error"); e != "" {
			httpx.WriteError(c, errs.E(errs.Unauthenticated, "the issuer refused the sign-in: %s", e))
			return
		}
		id, err := sso.Finish(c.Request.Context(), c.Query("code"), parts[2], parts[1])
		if errors.Is(err, oidc.ErrRejected) {
			httpx.WriteError(c, errs.Wrap(errs.Unauthenticated, err, "the issuer's answer was refused: start again"))
			return
		}
		if err != nil { // not a verdict: the issuer could not be asked
			httpx.WriteError(c, errs.Wrap(errs.Unavailable, err, "the single sign-on issuer cannot be reached: try again shortly"))
			return
		}
		// A prefix keeps single sign-on users apart from local accounts of the same name.
		secret, _, err := sessions.LoginExternal(c.Request.Context(), "sso:"+id.Name, sso.Roles(id), c.ClientIP(), httpx.RequestID(c))
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		http.SetCookie(c.Writer, &http.Cookie{Name: flowCookie, Path: "/admin/v1/login/oidc", MaxAge: -1})
		setSessionCookie(c, secret, int(auth.SessionAbsolute.Seconds()))
		c.Redirect(http.StatusFound, "/")
	})
}
