package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// poolSize is how many distinct inputs a run cycles over: enough that
// subjects, signals and topic lists vary as in production traffic, small
// enough that every body is encoded once before the load starts.
const poolSize = 10000

// input is a decision input as the default policy reads it.
type input struct {
	Signal  signal  `json:"signal"`
	Subject subject `json:"subject"`
	Purpose string  `json:"purpose"`
}

type signal struct {
	ID         string   `json:"id"`
	Source     string   `json:"source"`
	Topics     []string `json:"topics"`
	Categories []string `json:"categories"`
	ObservedAt string   `json:"observed_at"`
}

type subject struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	Minor  bool   `json:"minor,omitempty"`
}

// sample is one input of the mix with the answer the default policy gives it,
// so that a run can show that both servers decide the mix alike.
type sample struct {
	input input
	allow bool
}

// kind is a family of inputs; weight is its share of the mix in fortieths.
type kind struct {
	weight int
	allow  bool
	build  func(r *rand.Rand, in *input)
}

var (
	// Regions where every rolled-out source may be used.
	openRegions = []string{"US", "CA", "BR", "IN", "JP", "AU", "MX", "ZA", "KR", "SG", "NG", "AR", "us", "br"}
	// Regions the ai_chat rollouts exclude, including an alias and
	// lower-case spellings that only match once normalised.
	excludedRegions = []string{"FR", "DE", "GB", "UK", "nl", "IT", "ES", "PL", "SE", "IE", "fr", "de"}
	// Sources whose rollouts exclude no region.
	engagementSources = []string{"like", "share", "comment", "follow"}
	// Sources no rollout has been configured for.
	unknownSources  = []string{"voice_assistant", "email_scan"}
	benignTopics    = []string{"hiking", "running_shoes", "cooking", "travel", "football", "gardening", "photography", "jazz", "skincare", "smartphones", "electric_cars", "board_games", "coffee", "yoga"}
	sensitiveTopics = []string{"Medication", "election", "church", "therapy", "lgbtq", "labor_union", "dna_test", "mental_health", "voting", "pregnancy"}
	// Categories an upstream classifier may assign that are sensitive.
	sensitiveCategories = []string{"health", "politics", "religion"}
	purposes            = []string{"ads", "content_recommendation"}
)

// kinds is the mix: 24 of 40 allowed (60%), 16 denied (40%), each denial
// for a different reason so that every rule of the policy does work.
var kinds = []kind{
	{8, true, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = "ai_chat", "ads", pick(r, openRegions)
	}},
	{4, true, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = "ai_chat", "content_recommendation", pick(r, openRegions)
	}},
	{6, true, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, engagementSources), "ads", anyRegion(r)
	}},
	{4, true, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, engagementSources), "content_recommendation", anyRegion(r)
	}},
	{2, true, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, engagementSources), "content_recommendation", anyRegion(r)
		in.Subject.Minor = true
	}},
	{6, false, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = "ai_chat", pick(r, purposes), pick(r, excludedRegions)
	}},
	{4, false, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, engagementSources), pick(r, purposes), anyRegion(r)
		in.Signal.Topics = append(in.Signal.Topics, pick(r, sensitiveTopics))
	}},
	{2, false, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, engagementSources), pick(r, purposes), anyRegion(r)
		in.Signal.Categories = []string{pick(r, sensitiveCategories)}
	}},
	{2, false, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, engagementSources), "ads", pick(r, openRegions)
		in.Subject.Minor = true
	}},
	{1, false, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = pick(r, unknownSources), pick(r, purposes), anyRegion(r)
	}},
	{1, false, func(r *rand.Rand, in *input) {
		in.Signal.Source, in.Purpose, in.Subject.Region = "ai_chat", pick(r, purposes), pick(r, openRegions)
		in.Signal.ObservedAt = time.Date(2025, 12, 1+r.IntN(14), r.IntN(24), r.IntN(60), 0, 0, time.UTC).Format(time.RFC3339)
	}},
}

// newMix returns n inputs in the proportions of kinds, shuffled so that any
// window of them (a batch, the first seconds of a step) has the same mix.
// A fixed seed keeps runs comparable; observation times trail now so that
// none is ever in the future.
func newMix(n int, now time.Time) []sample {
	r := rand.New(rand.NewPCG(1, 2))
	var schedule []int
	for k, kd := range kinds {
		for range kd.weight {
			schedule = append(schedule, k)
		}
	}
	mix := make([]sample, n)
	for i := range mix {
		kd := kinds[schedule[i%len(schedule)]]
		in := input{
			Signal: signal{
				ID:         fmt.Sprintf("sig-%06d", i),
				Topics:     benignTopicList(r),
				Categories: []string{},
				ObservedAt: now.Add(-time.Duration(r.IntN(72*3600)) * time.Second).UTC().Format(time.RFC3339),
			},
			Subject: subject{ID: fmt.Sprintf("u-%06d", i)},
		}
		kd.build(r, &in)
		mix[i] = sample{input: in, allow: kd.allow}
	}
	r.Shuffle(len(mix), func(i, j int) { mix[i], mix[j] = mix[j], mix[i] })
	return mix
}

func pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

func anyRegion(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return pick(r, openRegions)
	}
	return pick(r, excludedRegions)
}

// benignTopicList has no duplicates: a signal lists each topic once.
func benignTopicList(r *rand.Rand) []string {
	idx := r.Perm(len(benignTopics))[:1+r.IntN(3)]
	topics := make([]string, len(idx))
	for i, j := range idx {
		topics[i] = benignTopics[j]
	}
	return topics
}

// allowShare is the fraction of the mix the policy allows.
func allowShare(mix []sample) float64 {
	n := 0
	for _, s := range mix {
		if s.allow {
			n++
		}
	}
	return float64(n) / float64(len(mix))
}

// singleBodies encodes {"input": ...} per input. Stock OPA's Data API takes
// the same envelope, so both servers receive identical bytes.
func singleBodies(mix []sample) ([][]byte, error) {
	bodies := make([][]byte, len(mix))
	for i, s := range mix {
		b, err := json.Marshal(map[string]input{"input": s.input})
		if err != nil {
			return nil, fmt.Errorf("encode input %d: %w", i, err)
		}
		bodies[i] = b
	}
	return bodies, nil
}

// batchBodies encodes {"inputs": [...]} of size consecutive inputs, wrapping
// around the mix, until every input is in some batch.
func batchBodies(mix []sample, size int) ([][]byte, error) {
	n := (len(mix) + size - 1) / size
	bodies := make([][]byte, n)
	for b := range bodies {
		ins := make([]input, size)
		for j := range ins {
			ins[j] = mix[(b*size+j)%len(mix)].input
		}
		body, err := json.Marshal(map[string][]input{"inputs": ins})
		if err != nil {
			return nil, fmt.Errorf("encode batch %d: %w", b, err)
		}
		bodies[b] = body
	}
	return bodies, nil
}

// describeMix is the one-line account of the mix printed with the results.
func describeMix(mix []sample) string {
	return fmt.Sprintf("%d distinct inputs, %.0f%% allowed by the default policy; denials for excluded region, "+
		"sensitive topic, sensitive category, minor and ads, no rollout, before rollout", len(mix), 100*allowShare(mix))
}
