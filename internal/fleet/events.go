package fleet

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// Event is one decision event of an OPA decision-log upload. It is a struct
// of its own: OPA's EventV1 types "error" as a Go error, which an uploaded
// error object does not decode into.
type Event struct {
	Labels     map[string]string `json:"labels"`
	DecisionID string            `json:"decision_id"`
	Bundles    map[string]struct {
		Revision string `json:"revision"`
	} `json:"bundles"`
	Path        string                     `json:"path"`
	Input       json.RawMessage            `json:"input"`
	Result      json.RawMessage            `json:"result"`
	Erased      []string                   `json:"erased"`
	Masked      []string                   `json:"masked"`
	Error       json.RawMessage            `json:"error"`
	RequestedBy string                     `json:"requested_by"`
	Timestamp   time.Time                  `json:"timestamp"`
	Metrics     map[string]json.RawMessage `json:"metrics"`
}

// Rejected is an event that cannot be stored, with why.
type Rejected struct {
	Agent  string
	Reason string
	Event  string // the event's JSON text, valid UTF-8
}

// MaxUpload bounds an upload once decompressed: OPA's default upload limit
// is 32 KiB compressed, and a chunk is never near this.
const MaxUpload = 64 << 20

var eventLimits = strictjson.Limits{MaxDepth: 64, MaxWidth: 100000}

// ReadUpload decodes an OPA decision-log upload (a gzipped JSON array of
// events) into entries for the log and the events that cannot be stored.
// An upload that is not gzip or not a JSON array is an errs.Invalid error:
// the agent must fix it. One bad event never fails the upload.
func ReadUpload(body io.Reader, agent string) ([]decisionlog.Entry, []Rejected, error) {
	zr, err := gzip.NewReader(body)
	if err != nil {
		return nil, nil, errs.E(errs.Invalid, "the upload is not gzip: OPA uploads gzipped JSON arrays of decision events")
	}
	raw, err := io.ReadAll(io.LimitReader(zr, MaxUpload+1))
	if err != nil {
		return nil, nil, errs.E(errs.Invalid, "the upload is not valid gzip: %v", err)
	}
	if len(raw) > MaxUpload {
		return nil, nil, errs.E(errs.TooLarge, "the upload is larger than %d bytes once decompressed", MaxUpload)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, nil, errs.E(errs.Invalid, "the upload is not a JSON array of decision events: %v", err)
	}
	var entries []decisionlog.Entry
	var rejected []Rejected
	for _, item := range items {
		var ev Event
		err := json.Unmarshal(item, &ev)
		var e decisionlog.Entry
		if err == nil {
			e, err = ev.entry(agent)
		}
		if err != nil {
			rejected = append(rejected, Rejected{Agent: agent, Reason: err.Error(), Event: strings.ToValidUTF8(string(item), "\uFFFD")})
			continue
		}
		entries = append(entries, e)
	}
	return entries, rejected, nil
}

// entry maps an event into the log's columns as a native decision's.
func (ev Event) entry(agent string) (decisionlog.Entry, error) {
	id, err := uuid.Parse(ev.DecisionID)
	if err != nil {
		return decisionlog.Entry{}, fmt.Errorf("decision_id %q is not a UUID", ev.DecisionID)
	}
	if ev.Timestamp.IsZero() {
		return decisionlog.Entry{}, errors.New("no timestamp")
	}
	node := ev.Labels["id"]
	if node == "" {
		node = agent
	}
	e := decisionlog.Entry{
		DecisionID: id, DecidedAt: ev.Timestamp.UTC().Truncate(time.Microsecond),
		Path: strings.Trim(strings.TrimPrefix(ev.Path, "data/"), "/"), Revision: ev.revision(),
		Client: "agent:" + agent, Node: node, Masked: append(append([]string{}, ev.Erased...), ev.Masked...),
	}
	// JSON decoding made these valid UTF-8 but keeps an escaped NUL, which
	// the log's text columns refuse: the whole upload would fail with it.
	for _, s := range append([]string{e.Path, e.Revision, e.Node}, e.Masked...) {
		if strings.ContainsRune(s, 0) {
			return e, errors.New("path, labels.id, the bundle revision or a masked path holds a NUL character")
		}
	}
	var input, result ast.Value
	if len(ev.Input) > 0 && string(ev.Input) != "null" {
		if input, err = strictjson.Parse(ev.Input, eventLimits); err != nil {
			return e, fmt.Errorf("input: %v", err)
		}
		e.Input = bytes.Clone(ev.Input)
	}
	if len(ev.Result) > 0 && string(ev.Result) != "null" {
		if result, err = strictjson.Parse(ev.Result, eventLimits); err != nil {
			return e, fmt.Errorf("result: %v", err)
		}
		e.Result = bytes.Clone(ev.Result)
	}
	decision.Columns(&e, input, result)
	if len(ev.Error) > 0 && string(ev.Error) != "null" {
		e.ReasonCodes = append(e.ReasonCodes, "evaluation_error")
	}
	if raw, ok := ev.Metrics["timer_rego_query_eval_ns"]; ok {
		_ = json.Unmarshal(raw, &e.EvalNS)
	}
	return e, nil
}

// revision is the revision of the bundle that decided: signalgate's, or the
// only one the agent had.
func (ev Event) revision() string {
	if b, ok := ev.Bundles["signalgate"]; ok && b.Revision != "" {
		return b.Revision
	}
	for _, b := range ev.Bundles {
		if b.Revision != "" {
			return b.Revision
		}
	}
	return "unknown"
}
