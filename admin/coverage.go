package admin

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/httpx"
)

type regionCount struct {
	Region string `json:"region"`
	Count  int64  `json:"count"`
}

type topicCoverage struct {
	Topic string `json:"topic"`
	Count int64  `json:"count"`
	// DraftCategory is the category the draft maps the topic to, when it
	// already does: classified, not yet published.
	DraftCategory string        `json:"draft_category,omitempty"`
	Regions       []regionCount `json:"regions"`
}

type coverageResponse struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Revision string    `json:"revision"`
	Region   string    `json:"region,omitempty"`
	// Decisions is how many decisions were read: the newest ones of the
	// range, at most maxCoverageDecisions; Sampled says the range held more.
	Decisions      int64           `json:"decisions"`
	Sampled        bool            `json:"sampled"`
	Seen           int64           `json:"seen"`     // topic occurrences in them
	Unmapped       int64           `json:"unmapped"` // of which the taxonomy maps none
	MappedTopics   int             `json:"mapped_topics"`
	UnmappedTopics []topicCoverage `json:"unmapped_topics"`
}

// maxCoverageDecisions bounds the decisions a coverage report reads.
const maxCoverageDecisions = 200_000

// RegisterCoverage mounts the taxonomy coverage: the topics seen in traffic
// that the active revision's taxonomy does not map, ranked by volume among
// the newest decisions of a range.
func RegisterCoverage(r gin.IRouter, authn gin.HandlerFunc, stats decisionlog.StatsReader, p Policies, now func() time.Time) {
	r.GET("/admin/v1/taxonomy/coverage", authn, httpx.Require(auth.Viewer), func(c *gin.Context) {
		ctx := c.Request.Context()
		from, err := instant(c, "from")
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		to, err := instant(c, "to")
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		if to.IsZero() {
			to = now()
		}
		if from.IsZero() {
			from = to.AddDate(0, 0, -7)
		}
		if !from.Before(to) {
			httpx.WriteError(c, errs.E(errs.Invalid, "from must be before to"))
			return
		}
		limit, err := intQuery(c, "limit", 100, 1, 10000)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		region := strings.ToUpper(c.Query("region"))
		rev, err := p.Revision(ctx, p.ActiveID())
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		draft, err := p.Draft(ctx)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		counts, read, err := stats.Topics(ctx, from, to, maxCoverageDecisions)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		mapped, draftMapped := rev.Content.TopicCategories(), draft.Content.TopicCategories()
		out := coverageResponse{From: from.UTC(), To: to.UTC(), Revision: rev.ID(), Region: region, MappedTopics: len(mapped),
			Decisions: read, Sampled: read == maxCoverageDecisions}
		byTopic := map[string]*topicCoverage{}
		for _, tc := range counts {
			if region != "" && tc.Region != region {
				continue
			}
			out.Seen += tc.N
			if _, ok := mapped[tc.Topic]; ok {
				continue
			}
			out.Unmapped += tc.N
			t := byTopic[tc.Topic]
			if t == nil {
				t = &topicCoverage{Topic: tc.Topic, DraftCategory: draftMapped[tc.Topic]}
				byTopic[tc.Topic] = t
			}
			t.Count += tc.N
			t.Regions = append(t.Regions, regionCount{Region: tc.Region, Count: tc.N})
		}
		out.UnmappedTopics = make([]topicCoverage, 0, len(byTopic))
		for _, t := range byTopic {
			slices.SortFunc(t.Regions, func(a, b regionCount) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Region, b.Region))
			})
			out.UnmappedTopics = append(out.UnmappedTopics, *t)
		}
		slices.SortFunc(out.UnmappedTopics, func(a, b topicCoverage) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Topic, b.Topic))
		})
		if len(out.UnmappedTopics) > limit {
			out.UnmappedTopics = out.UnmappedTopics[:limit]
		}
		c.JSON(http.StatusOK, out)
	})
}
