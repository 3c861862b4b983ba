// Package httpx keeps the HTTP plumbing every handler shares: the gin
// engine, middleware (recovery, request ids, logging, metrics, security
// headers, authentication, roles, body limits) and the one error writer.
package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/errs"
)

// ErrorBody is the JSON envelope of every error response, the shape OPA's
// API uses too.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var statusOf = map[errs.Code]int{
	errs.Invalid:            http.StatusBadRequest,
	errs.TooLarge:           http.StatusRequestEntityTooLarge,
	errs.Unauthenticated:    http.StatusUnauthorized,
	errs.Forbidden:          http.StatusForbidden,
	errs.NotFound:           http.StatusNotFound,
	errs.Conflict:           http.StatusConflict,
	errs.PreconditionFailed: http.StatusPreconditionFailed,
	errs.Unprocessable:      http.StatusUnprocessableEntity,
	errs.TooManyRequests:    http.StatusTooManyRequests,
	errs.Timeout:            http.StatusRequestTimeout,
	errs.Unavailable:        http.StatusServiceUnavailable,
	errs.Internal:           http.StatusInternalServerError,
}

// Status is the HTTP status for an error's code.
func Status(err error) int {
	if s, ok := statusOf[errs.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WriteError answers with err's status and envelope. Internal errors are
// logged with the request id and answered without their text.
func WriteError(c *gin.Context, err error) {
	code := errs.CodeOf(err)
	status := Status(err)
	if status >= 500 {
		Logger(c).Error("request failed", "status", status, "err", err)
	}
	switch status {
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "1")
	case http.StatusTooManyRequests:
		c.Header("Retry-After", "900")
	case http.StatusUnauthorized:
		c.Header("WWW-Authenticate", `Bearer realm="signalgate"`)
	}
	msg := errs.MessageOf(err)
	c.Set(keyMessage, msg)
	c.AbortWithStatusJSON(status, ErrorBody{Code: string(code), Message: msg})
}

// keyMessage keeps the error message written, for hooks that report it.
const keyMessage = "signalgate.error_message"

const (
	keyLogger    = "signalgate.logger"
	keyRequestID = "signalgate.request_id"
)

// Logger returns the request's logger, tagged with its request id. It is
// built on demand: most requests never log.
func Logger(c *gin.Context) *slog.Logger {
	base := slog.Default()
	if l, ok := c.Get(keyLogger); ok {
		base = l.(*slog.Logger)
	}
	return base.With("request_id", c.GetString(keyRequestID))
}

// Options configure the engine.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Quiet lists route templates logged at debug level only: the decision
	// routes, where a line per request would cost more than the decision.
	Quiet map[string]bool
}

// New returns a gin engine in release mode with signalgate's middleware:
// recovery without stack traces in responses, request ids, access logs,
// metrics per route template, security headers, and JSON 404/405.
func New(opts Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// No proxy is trusted unless configured, so ClientIP is the peer address.
	_ = r.SetTrustedProxies(nil)
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "signalgate_http_requests_total", Help: "HTTP requests by route template, method and status.",
	}, []string{"route", "method", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "signalgate_http_request_seconds", Help: "HTTP request latency by route template.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"route"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(requests, duration)
	}
	r.Use(func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-Id")
		if !usableRequestID(id) {
			id = uuid.NewString()
		}
		c.Header("X-Request-Id", id)
		c.Set(keyRequestID, id)
		c.Set(keyLogger, log)
		securityHeaders(c.Writer.Header())
		defer func() {
			if rec := recover(); rec != nil {
				Logger(c).Error("panic while serving", "panic", rec, "path", c.Request.URL.Path)
				if !c.Writer.Written() {
					WriteError(c, errors.New("panic"))
				}
			}
			route := c.FullPath()
			if route == "" {
				route = "unmatched"
			}
			status := c.Writer.Status()
			elapsed := time.Since(start)
			requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Inc()
			duration.WithLabelValues(route).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if opts.Quiet[route] && status < 500 {
				level = slog.LevelDebug
			}
			if log.Enabled(c.Request.Context(), level) {
				log.Log(c.Request.Context(), level, "request", "request_id", id,
					"method", c.Request.Method, "route", route, "status", status, "duration", elapsed)
			}
		}()
		if msg := unusableURL(c.Request.URL); msg != "" {
			WriteError(c, errs.E(errs.Invalid, "%s", msg))
			c.Abort()
			return
		}
		c.Next()
	})
	r.NoRoute(func(c *gin.Context) {
		WriteError(c, errs.E(errs.NotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{
			Code: "method_not_allowed", Message: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path,
		})
	})
	return r
}

// RequestID returns the request's id, as echoed in X-Request-Id and
// recorded in the audit trail.
func RequestID(c *gin.Context) string { return c.GetString(keyRequestID) }

func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
}

// usableRequestID accepts a caller's request id that can be echoed, logged
// and stored as it is: up to 128 printable ASCII characters.
func usableRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// unusableURL says why u's path or query cannot be used as text — they
// reach the database, which refuses NUL and invalid UTF-8 — or "". Every
// route is covered here, so no handler needs its own check.
func unusableURL(u *url.URL) string {
	if !isText(u.Path) {
		return "the path must be UTF-8 text without NUL characters"
	}
	if u.RawQuery == "" {
		return ""
	}
	for k, vs := range u.Query() {
		if !isText(k) {
			return "query parameter names must be UTF-8 text without NUL characters"
		}
		for _, v := range vs {
			if !isText(v) {
				return "query parameter " + strconv.Quote(k) + " must be UTF-8 text without NUL characters"
			}
		}
	}
	return ""
}

func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
