// Package ops keeps the operational endpoints: liveness, readiness and
// Prometheus metrics.
package ops

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition; it returns nil when satisfied.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Status is the readiness answer.
type Status struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Healthz answers while the process serves HTTP at all.
func Healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// Readyz answers 200 when every check passes within a second, else 503 with
// each failing check named, so an operator sees why a node left the pool.
func Readyz(checks ...Check) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		st := Status{Status: "ok", Checks: map[string]string{}}
		for _, ch := range checks {
			if err := ch.Fn(ctx); err != nil {
				st.Status = "unavailable"
				st.Checks[ch.Name] = err.Error()
				continue
			}
			st.Checks[ch.Name] = "ok"
		}
		code := http.StatusOK
		if st.Status != "ok" {
			code = http.StatusServiceUnavailable
			c.Header("Retry-After", "1")
		}
		c.JSON(code, st)
	}
}

// Metrics serves the registry in the Prometheus text format.
func Metrics(g prometheus.Gatherer) gin.HandlerFunc {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}
