package fleet

import (
	"encoding/json"
	"time"

	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// Agent is an OPA agent as its latest status report describes it.
type Agent struct {
	ID       string
	Version  string
	Revision string            // of the signalgate bundle it runs
	Plugins  map[string]string // plugin → state (OK, NOT_READY, ERROR, ...)
	Errors   []string
	LastSeen time.Time
	Report   json.RawMessage // the whole report, as sent
}

type statusReport struct {
	Labels  map[string]string `json:"labels"`
	Bundles map[string]struct {
		ActiveRevision string `json:"active_revision"`
		Code           string `json:"code"`
		Message        string `json:"message"`
	} `json:"bundles"`
	Plugins map[string]struct {
		State string `json:"state"`
	} `json:"plugins"`
}

// ParseStatus reads an OPA status report; the Agent's Report is body
// itself. It returns errs.Invalid when the body is not one (no labels.id to
// know the agent by) or holds what the database cannot store.
func ParseStatus(body []byte, at time.Time) (Agent, error) {
	// The report is kept as sent, in jsonb: the strict parse refuses what
	// jsonb would (NUL, even escaped; invalid UTF-8; lone surrogates).
	if _, err := strictjson.Parse(body, eventLimits); err != nil {
		return Agent{}, errs.E(errs.Invalid, "the status report: %v", err)
	}
	var r statusReport
	if err := json.Unmarshal(body, &r); err != nil {
		return Agent{}, errs.E(errs.Invalid, "the status report is not JSON: %v", err)
	}
	a := Agent{ID: r.Labels["id"], Version: r.Labels["version"], Plugins: map[string]string{}, LastSeen: at, Report: body}
	if a.ID == "" {
		return a, errs.E(errs.Invalid, `the status report has no labels.id: OPA sends one unless its configuration removes it`)
	}
	b, ok := r.Bundles["signalgate"]
	if !ok {
		for _, other := range r.Bundles {
			b = other
			break
		}
	}
	a.Revision = b.ActiveRevision
	if b.Code != "" {
		a.Errors = append(a.Errors, b.Code+": "+b.Message)
	}
	for name, p := range r.Plugins {
		a.Plugins[name] = p.State
	}
	return a, nil
}

// Instance is a signalgate instance as it last reported itself.
type Instance struct {
	Node      string
	Version   string
	Revision  string
	StartedAt time.Time
	LastSeen  time.Time
}

// InstanceStale is how long an instance may stay silent before it is shown
// as gone: it reports every few seconds.
const InstanceStale = 30 * time.Second
