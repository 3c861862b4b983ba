package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
)

// Identities manages users and API tokens.
type Identities interface {
	CreateToken(ctx context.Context, p auth.Principal, name string, role auth.Role, ttl time.Duration, requestID string) (auth.Token, string, error)
	Tokens(ctx context.Context, p auth.Principal) ([]auth.Token, error)
	RevokeToken(ctx context.Context, p auth.Principal, id, requestID string) error
	CreateUser(ctx context.Context, p auth.Principal, name, password string, roles []auth.Role, requestID string) (auth.User, error)
	Users(ctx context.Context) ([]auth.User, error)
}

// RegisterIdentity mounts the users and tokens routes on r behind authn.
// Anyone with an admin-API role manages their own tokens (never above their
// role); admins see and revoke everyone's and manage users.
func RegisterIdentity(r gin.IRouter, authn gin.HandlerFunc, ids Identities) {
	h := identityHandler{ids: ids}
	g := r.Group("/admin/v1", authn)
	g.GET("/tokens", httpx.Require(auth.Viewer), h.tokens)
	g.POST("/tokens", httpx.Require(auth.Viewer), h.createToken)
	g.DELETE("/tokens/:id", httpx.Require(auth.Viewer), h.revokeToken)
	g.GET("/users", httpx.Require(auth.Admin), h.users)
	g.POST("/users", httpx.Require(auth.Admin), h.createUser)
}

type identityHandler struct{ ids Identities }

func principal(c *gin.Context) auth.Principal {
	p, _ := httpx.PrincipalOf(c)
	return p
}

type tokenRequest struct {
	Name          string `json:"name"`
	Role          string `json:"role"`
	ExpiresInDays int    `json:"expires_in_days,omitempty"`
}

type tokenResponse struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	User       string     `json:"user"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Token      string     `json:"token,omitempty"` // only in the answer to its creation
}

func toTokenResponse(t auth.Token) tokenResponse {
	return tokenResponse{ID: t.ID, Name: t.Name, Role: string(t.Role), User: t.User, Hint: t.Hint,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}

func (h identityHandler) createToken(c *gin.Context) {
	var req tokenRequest
	if err := readJSON(c, 16<<10, &req); err != nil {
		httpx.WriteError(c, err)
		return
	}
	// Checked before multiplying: a huge count would wrap into a short
	// (or negative) lifetime that passes the bound.
	maxDays := int(auth.MaxTokenLifetime / (24 * time.Hour))
	if req.ExpiresInDays < 0 || req.ExpiresInDays > maxDays {
		httpx.WriteError(c, errs.E(errs.Invalid, "expires_in_days %d: use 0 (no expiry) to %d", req.ExpiresInDays, maxDays))
		return
	}
	ttl := time.Duration(req.ExpiresInDays) * 24 * time.Hour
	t, secret, err := h.ids.CreateToken(c.Request.Context(), principal(c), req.Name, auth.Role(req.Role), ttl, actor(c).RequestID)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := toTokenResponse(t)
	out.Token = secret
	c.JSON(http.StatusCreated, out)
}

func (h identityHandler) tokens(c *gin.Context) {
	ts, err := h.ids.Tokens(c.Request.Context(), principal(c))
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := make([]tokenResponse, len(ts))
	for i, t := range ts {
		out[i] = toTokenResponse(t)
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out})
}

func (h identityHandler) revokeToken(c *gin.Context) {
	if err := h.ids.RevokeToken(c.Request.Context(), principal(c), c.Param("id"), actor(c).RequestID); err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type userRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password,omitempty"`
	Roles    []string `json:"roles"`
}

type userResponse struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled"`
}

func toUserResponse(u auth.User) userResponse {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	return userResponse{ID: u.ID, Name: u.Name, Roles: roles, CreatedAt: u.CreatedAt, Disabled: u.Disabled}
}

func (h identityHandler) createUser(c *gin.Context) {
	var req userRequest
	if err := readJSON(c, 16<<10, &req); err != nil {
		httpx.WriteError(c, err)
		return
	}
	roles := make([]auth.Role, len(req.Roles))
	for i, r := range req.Roles {
		roles[i] = auth.Role(r)
	}
	u, err := h.ids.CreateUser(c.Request.Context(), principal(c), req.Name, req.Password, roles, actor(c).RequestID)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toUserResponse(u))
}

func (h identityHandler) users(c *gin.Context) {
	us, err := h.ids.Users(c.Request.Context())
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := make([]userResponse, len(us))
	for i, u := range us {
		out[i] = toUserResponse(u)
	}
	c.JSON(http.StatusOK, gin.H{"users": out})
}
