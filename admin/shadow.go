package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/httpx"
	"github.com/signalgate/signalgate/internal/shadow"
)

// ShadowResults reads what shadow evaluation found.
type ShadowResults interface {
	ShadowSummary(ctx context.Context, candidate string, since time.Time) (shadow.Summary, error)
}

type shadowPoint struct {
	Start     time.Time `json:"start"`
	Evaluated int64     `json:"evaluated"`
	Disagreed int64     `json:"disagreed"`
}

type shadowSample struct {
	DecisionID       string    `json:"decision_id"`
	DecidedAt        time.Time `json:"decided_at"`
	Region           string    `json:"region"`
	Source           string    `json:"source"`
	ActiveAllow      bool      `json:"active_allow"`
	CandidateAllow   bool      `json:"candidate_allow"`
	ActiveReasons    []string  `json:"active_reasons"`
	CandidateReasons []string  `json:"candidate_reasons"`
}

func toShadowSample(d shadow.Disagreement) shadowSample {
	return shadowSample{DecisionID: d.DecisionID.String(), DecidedAt: d.DecidedAt, Region: d.Region, Source: d.Source,
		ActiveAllow: d.ActiveAllow, CandidateAllow: d.CandidateAllow, ActiveReasons: d.ActiveReasons, CandidateReasons: d.CandidateReasons}
}

// RegisterShadow mounts GET /admin/v1/shadow: the revision in shadow (set
// with the shadow_revision setting) and its disagreement rate over time, by
// region, source and reason, with recent samples; ?candidate picks another
// candidate, ?from the start (default 24 hours ago).
func RegisterShadow(r gin.IRouter, authn gin.HandlerFunc, results ShadowResults, current func() string) {
	r.GET("/admin/v1/shadow", authn, httpx.Require(auth.Viewer), func(c *gin.Context) {
		candidate := c.DefaultQuery("candidate", current())
		from, err := instant(c, "from")
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		if from.IsZero() {
			from = time.Now().Add(-24 * time.Hour)
		}
		out := gin.H{"candidate": candidate, "from": from.UTC(), "evaluated": 0, "disagreed": 0, "rate": 0.0,
			"series": []shadowPoint{}, "by_region": map[string]int64{}, "by_source": map[string]int64{}, "by_reason": map[string]int64{},
			"samples": []shadowSample{}}
		if candidate == "" {
			c.JSON(http.StatusOK, out)
			return
		}
		sum, err := results.ShadowSummary(c.Request.Context(), candidate, from)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		series := make([]shadowPoint, len(sum.Series))
		for i, p := range sum.Series {
			series[i] = shadowPoint{Start: p.Bucket.UTC(), Evaluated: p.Evaluated, Disagreed: p.Disagreed}
		}
		samples := make([]shadowSample, len(sum.Samples))
		for i, d := range sum.Samples {
			samples[i] = toShadowSample(d)
		}
		rate := 0.0
		if sum.Evaluated > 0 {
			rate = float64(sum.Disagreed) / float64(sum.Evaluated)
		}
		out["evaluated"], out["disagreed"], out["rate"], out["series"] = sum.Evaluated, sum.Disagreed, rate, series
		out["by_region"], out["by_source"], out["by_reason"], out["samples"] = sum.ByRegion, sum.BySource, sum.ByReason, samples
		c.JSON(http.StatusOK, out)
	})
}
