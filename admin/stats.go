package admin

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/httpx"
)

type statsPoint struct {
	Start time.Time `json:"start"`
	Value string    `json:"value"`
	decisionlog.Counts
}

type statsTotal struct {
	Value string `json:"value"`
	decisionlog.Counts
}

type statsResponse struct {
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Bucket string       `json:"bucket"`
	By     string       `json:"by"`
	Series []statsPoint `json:"series"`
	Totals []statsTotal `json:"totals"` // per value over the range, largest first
}

// stats answers counts per bucket split by one dimension and by outcome:
// ?from&to (default the last 24 hours) &bucket=minute|hour|day (default
// hour) &by=outcome|reason|region|source|purpose|revision (default outcome).
func (a Audits) stats(c *gin.Context) {
	q := decisionlog.StatsQuery{Bucket: c.DefaultQuery("bucket", "hour"), By: c.DefaultQuery("by", "outcome")}
	var err error
	if q.From, err = instant(c, "from"); err != nil {
		httpx.WriteError(c, err)
		return
	}
	if q.To, err = instant(c, "to"); err != nil {
		httpx.WriteError(c, err)
		return
	}
	if q.To.IsZero() {
		q.To = a.Now()
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-24 * time.Hour)
	}
	if err := q.Normalize(); err != nil {
		httpx.WriteError(c, err)
		return
	}
	rows, err := a.Stats.Stats(c.Request.Context(), q)
	if err != nil {
		httpx.WriteError(c, err)
		return
	}
	out := statsResponse{From: q.From, To: q.To, Bucket: q.Bucket, By: q.By, Series: make([]statsPoint, len(rows)), Totals: []statsTotal{}}
	totals := map[string]*decisionlog.Counts{}
	for i, r := range rows {
		out.Series[i] = statsPoint{Start: r.Start, Value: r.Value, Counts: r.Counts}
		t := totals[r.Value]
		if t == nil {
			t = new(decisionlog.Counts)
			totals[r.Value] = t
		}
		t.Allow, t.Deny, t.Undefined = t.Allow+r.Allow, t.Deny+r.Deny, t.Undefined+r.Undefined
	}
	for v, t := range totals {
		out.Totals = append(out.Totals, statsTotal{Value: v, Counts: *t})
	}
	slices.SortFunc(out.Totals, func(x, y statsTotal) int {
		return cmp.Or(cmp.Compare(y.Allow+y.Deny+y.Undefined, x.Allow+x.Deny+x.Undefined), cmp.Compare(x.Value, y.Value))
	})
	c.JSON(http.StatusOK, out)
}
