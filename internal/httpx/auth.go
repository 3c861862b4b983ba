package httpx

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
)

const keyPrincipal = "signalgate.principal"

// TokenAuthenticator turns a bearer token into a principal.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, secret string) (auth.Principal, error)
}

// SessionAuthenticator turns a session cookie into a principal.
type SessionAuthenticator interface {
	Authenticate(ctx context.Context, secret string) (auth.Principal, error)
}

// crossOrigin refuses unsafe cross-site browser requests (by Sec-Fetch-Site
// or Origin); requests from non-browser clients carry neither and pass.
var crossOrigin = http.NewCrossOriginProtection()

// CheckCrossOrigin refuses an unsafe cross-site browser request with
// errs.Forbidden.
func CheckCrossOrigin(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return errs.E(errs.Forbidden, "cross-site request refused: %v", err)
	}
	return nil
}

// credentialParams are query parameters that would carry a secret in URLs,
// logs and browser history; a request using one is refused outright.
var credentialParams = []string{"access_token", "token", "api_key"}

// Refused is told of every request refused for want of credentials or
// role (401 or 403), after the answer is written.
type Refused func(c *gin.Context, status int, reason string)

// Authenticate requires a bearer token in the Authorization header, or a
// session cookie (then unsafe methods must not come cross-site), and stores
// the principal for the handlers.
func Authenticate(a TokenAuthenticator, sessions SessionAuthenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer reportRefusal(c)
		q := c.Request.URL.Query()
		for _, p := range credentialParams {
			if q.Has(p) {
				WriteError(c, errs.E(errs.Invalid, "credentials are accepted only in the Authorization header, never in the URL"))
				return
			}
		}
		h := c.GetHeader("Authorization")
		if cookie, err := c.Cookie(auth.SessionCookie); h == "" && err == nil && sessions != nil {
			if err := CheckCrossOrigin(c.Request); err != nil {
				WriteError(c, err)
				return
			}
			p, err := sessions.Authenticate(c.Request.Context(), cookie)
			if err != nil {
				WriteError(c, err)
				return
			}
			c.Set(keyPrincipal, p)
			c.Next()
			return
		}
		scheme, secret, ok := strings.Cut(h, " ")
		if h == "" {
			WriteError(c, errs.E(errs.Unauthenticated, "missing Authorization header: send `Authorization: Bearer <token>` or sign in"))
			return
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			WriteError(c, errs.E(errs.Unauthenticated, "the Authorization header must be `Bearer <token>`"))
			return
		}
		p, err := a.AuthenticateToken(c.Request.Context(), strings.TrimSpace(secret))
		if err != nil {
			WriteError(c, err)
			return
		}
		c.Set(keyPrincipal, p)
		c.Next()
	}
}

// Require lets through principals holding a role that includes one of roles.
func Require(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer reportRefusal(c)
		p, ok := PrincipalOf(c)
		if !ok {
			WriteError(c, errs.E(errs.Unauthenticated, "authentication required"))
			return
		}
		if !p.Can(roles...) {
			WriteError(c, errs.E(errs.Forbidden, "role %s may not use this endpoint", p.RoleNames()))
			return
		}
		c.Next()
	}
}

// PrincipalOf returns the authenticated principal of the request.
func PrincipalOf(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(keyPrincipal)
	if !ok {
		return auth.Principal{}, false
	}
	p, ok := v.(auth.Principal)
	return p, ok
}

const keyRefused = "signalgate.refused"

// OnRefused installs fn to be told of refused requests.
func OnRefused(fn Refused) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(keyRefused, fn)
		c.Next()
	}
}

// reportRefusal tells the installed Refused hook about a request this
// middleware refused.
func reportRefusal(c *gin.Context) {
	status := c.Writer.Status()
	if !c.IsAborted() || (status != 401 && status != 403) || c.GetBool(keyReported) {
		return
	}
	c.Set(keyReported, true)
	if fn, ok := c.Get(keyRefused); ok {
		fn.(Refused)(c, status, c.GetString(keyMessage))
	}
}

const keyReported = "signalgate.refusal_reported"
