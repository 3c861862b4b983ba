package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/httpx"
)

// maxRefusalEntriesPerSecond bounds the audit entries refused requests may
// write on one instance: a flood of bad credentials must not become a flood
// of database writes. Every refusal is still counted in metrics.
const maxRefusalEntriesPerSecond = 20

// RefusalRecorder counts every refused request (401/403) by API in metrics,
// and records refused admin-API requests in the audit trail (no secrets:
// the route, the caller if known, the address and the reason).
func RefusalRecorder(trail audit.Appender, reg prometheus.Registerer, log *slog.Logger) httpx.Refused {
	refusals := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "signalgate_auth_refusals_total", Help: "Requests refused for want of credentials or role, by API and status.",
	}, []string{"api", "status"})
	if reg != nil {
		reg.MustRegister(refusals)
	}
	var mu sync.Mutex
	var window time.Time
	var written int
	allow := func(now time.Time) bool {
		mu.Lock()
		defer mu.Unlock()
		if now.Sub(window) >= time.Second {
			window, written = now, 0
		}
		written++
		return written <= maxRefusalEntriesPerSecond
	}
	return func(c *gin.Context, status int, reason string) {
		api := "decision"
		if strings.HasPrefix(c.Request.URL.Path, "/admin/") {
			api = "admin"
		} else if c.Request.URL.Path == "/metrics" {
			api = "ops"
		}
		refusals.WithLabelValues(api, strconv.Itoa(status)).Inc()
		now := time.Now()
		if api != "admin" || !allow(now) {
			return
		}
		p, _ := httpx.PrincipalOf(c)
		who := p.User
		if who == "" {
			who = "anonymous"
		}
		detail, _ := json.Marshal(map[string]any{"status": status, "reason": reason, "addr": c.ClientIP()})
		e := audit.Entry{At: now, Actor: who, Action: "request.refused", Target: c.Request.Method + " " + c.FullPath(),
			RequestID: httpx.RequestID(c), Detail: detail}
		if err := trail.Append(context.WithoutCancel(c.Request.Context()), e); err != nil {
			log.Warn("recording a refused request", "err", err)
		}
	}
}
