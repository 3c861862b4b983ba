package seed

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// choice is a value and its relative weight.
type choice struct {
	v string
	w int
}

// table expands weighted choices into a slice that a uniform index picks
// from with the right odds, which is cheaper than a cumulative search.
func table(cs ...choice) []string {
	var t []string
	for _, c := range cs {
		for range c.w {
			t = append(t, c.v)
		}
	}
	return t
}

func pick(r *rand.Rand, t []string) string { return t[r.IntN(len(t))] }

// The mixes below follow the shape of the product's traffic: the AI chat
// assistant dominates, a few producers send sources no rollout knows, and
// regions lean to the large markets with the EU/EEA and the UK well
// represented, so every default rule has work to do.
var (
	sources = table(
		choice{"ai_chat", 550}, choice{"like", 140}, choice{"comment", 100}, choice{"share", 80},
		choice{"follow", 70}, choice{"voice_assistant", 25}, choice{"search_query", 20},
		choice{"story_view", 10}, choice{"Ai_Chat", 5}, // a producer that gets the slug's case wrong
	)
	purposes = table(choice{"ads", 55}, choice{"content_recommendation", 45})
	regions  = table(
		choice{"US", 240}, choice{"IN", 120}, choice{"BR", 100}, choice{"DE", 60}, choice{"FR", 50},
		choice{"GB", 45}, choice{"UK", 10}, choice{"JP", 40}, choice{"MX", 40}, choice{"ID", 35},
		choice{"CA", 30}, choice{"IT", 30}, choice{"ES", 30}, choice{"PL", 20}, choice{"NL", 20},
		choice{"TR", 20}, choice{"PH", 20}, choice{"NG", 15}, choice{"KR", 20}, choice{"AU", 20},
		choice{"AR", 15}, choice{"SE", 10}, choice{"BE", 10}, choice{"AT", 8}, choice{"IE", 8},
		choice{"PT", 8}, choice{"GR", 5}, choice{"EL", 2}, choice{"NO", 6}, choice{"CH", 8},
		choice{"DK", 6}, choice{"FI", 5}, choice{"CZ", 6}, choice{"RO", 6}, choice{"ZA", 10},
		choice{"EG", 10}, choice{"VN", 12}, choice{"TH", 12}, choice{"SA", 8}, choice{"AE", 6},
		choice{"IS", 1}, choice{"LI", 1}, choice{"RE", 1}, choice{"MQ", 1},
	)
	// commonTopics are classifier topics the taxonomy does not map, most
	// frequent first; their weights fall off like word frequencies do.
	commonTopics = []string{
		"football", "music", "cooking", "travel", "gaming", "movies", "fitness", "fashion",
		"hiking", "tech", "photography", "pets", "cars", "basketball", "books", "running",
		"personal_finance", "parenting", "gardening", "baking", "cycling", "skincare",
		"smartphones", "anime", "home_improvement", "coffee", "yoga", "camping", "tennis",
		"crypto", "podcasts", "board_games", "interior_design", "wine", "surfing", "skiing",
		"cricket", "k_pop", "streetwear", "electric_vehicles",
	}
	// rareTopics are the long tail a taxonomy never catches up with.
	rareTopics = []string{
		"falconry", "bonsai", "origami", "lock_picking", "beekeeping", "calligraphy", "geocaching",
		"sourdough", "birdwatching", "kite_surfing", "ham_radio", "taxidermy", "bookbinding",
		"mycology", "speedcubing", "retro_synthwave", "model_trains", "fencing", "curling",
		"lacrosse", "glassblowing", "axe_throwing", "competitive_yoyo", "soap_carving",
		"stamp_collecting", "urban_exploring", "vexillology", "tea_ceremony", "tarot_art",
		"mechanical_keyboards", "ice_sculpture", "drone_racing", "parkour", "quilting",
		"astrophotography", "fermentation", "knife_sharpening", "marathon_swimming",
	}
	// categories an upstream classifier may already have assigned, in the
	// case producers happen to send them.
	categories = table(
		choice{"sports", 20}, choice{"entertainment", 20}, choice{"shopping", 15}, choice{"technology", 10},
		choice{"food", 10}, choice{"health", 8}, choice{"Health", 2}, choice{"politics", 6},
		choice{"religion", 3}, choice{"sexual_orientation", 1}, choice{"ethnicity", 1},
		choice{"trade_union", 1}, choice{"genetics", 1}, choice{"biometrics", 1},
	)
	// malformations are the producer mistakes seen in practice, the
	// commonest first; each makes the policy report invalid_input.
	malformations = table(
		choice{"no_region", 30}, choice{"bad_observed_at", 20}, choice{"future_observed_at", 10},
		choice{"bad_region", 10}, choice{"no_source", 8}, choice{"unknown_purpose", 8},
		choice{"no_purpose", 4}, choice{"topics_not_array", 4}, choice{"topic_not_string", 2},
		choice{"categories_not_array", 2}, choice{"minor_not_boolean", 2},
	)
)

// Subjects come from a pool of pseudonymous ids with Zipf-like activity:
// a few subjects produce thousands of signals, most only a handful.
const (
	subjectPool  = 200_000
	subjectSkew  = 1.1  // Zipf s
	subjectShift = 50.0 // Zipf v: flattens the head so no single subject dominates
)

// The diurnal cycle: traffic peaks at peakUTC and is 1±diurnalAmplitude
// times the mean over the day.
const (
	diurnalAmplitude = 0.5
	peakUTC          = 15 * time.Hour
	day              = 24 * time.Hour
)

// Item is one synthetic decision to make: when it is decided, its id and
// its input document.
type Item struct {
	At  time.Time
	ID  uuid.UUID
	Raw []byte
}

// generator draws items in decided_at order from one random stream, so a
// seed gives the same items whatever the number of evaluation workers.
type generator struct {
	r        *rand.Rand
	subjects *rand.Zipf
	taxonomy []string // topics the active revision's taxonomy maps
	common   []string // commonTopics expanded by weight

	from   time.Time
	to     time.Time
	span   float64 // seconds
	phase  float64 // seconds from the diurnal peak to from, modulo a day
	wTotal float64 // the cumulative diurnal weight over the range
	n, i   int
	s      float64 // seconds from from of the last item
}

func newGenerator(seed uint64, taxonomy []string, from, to time.Time, n int) *generator {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	g := &generator{
		r:        r,
		subjects: rand.NewZipf(r, subjectSkew, subjectShift, subjectPool-1),
		taxonomy: taxonomy,
		from:     from,
		to:       to,
		span:     to.Sub(from).Seconds(),
		n:        n,
	}
	g.phase = math.Mod(float64(from.UnixNano()%int64(day))/1e9-peakUTC.Seconds()+day.Seconds(), day.Seconds())
	g.wTotal = g.weightUpTo(g.span)
	for i, t := range commonTopics {
		// Frequency falls off as 1/rank, as words do.
		for range 400 / (i + 4) {
			g.common = append(g.common, t)
		}
	}
	return g
}

// rate is the relative traffic s seconds after from.
func (g *generator) rate(s float64) float64 {
	return 1 + diurnalAmplitude*math.Cos(2*math.Pi*(s+g.phase)/day.Seconds())
}

// weightUpTo is the integral of rate from 0 to s.
func (g *generator) weightUpTo(s float64) float64 {
	k := 2 * math.Pi / day.Seconds()
	return s + diurnalAmplitude/k*(math.Sin(k*(s+g.phase))-math.Sin(k*g.phase))
}

// nextTime spreads the n decisions over the range with the diurnal density:
// the i-th falls at a random point of the i-th n-quantile, so times rise
// monotonically (rows arrive in time order, as a live log's do) and the
// count is exact. Newton's method from the previous time converges in a
// step or two because the quantiles are close together.
func (g *generator) nextTime() time.Time {
	target := (float64(g.i) + g.r.Float64()) / float64(g.n) * g.wTotal
	g.i++
	s := g.s
	for range 8 {
		d := (g.weightUpTo(s) - target) / g.rate(s)
		s = min(max(s-d, 0), g.span)
		if math.Abs(d) < 1e-7 {
			break
		}
	}
	g.s = s
	at := g.from.Add(time.Duration(s * 1e9)).Truncate(time.Microsecond)
	if !at.Before(g.to) { // rounding at the very end of the range
		at = g.to.Add(-time.Microsecond)
	}
	return at.UTC()
}

// next draws the next item.
func (g *generator) next() (Item, error) {
	at := g.nextTime()
	raw, err := json.Marshal(g.input(at))
	if err != nil {
		return Item{}, fmt.Errorf("encode a synthetic input: %w", err)
	}
	return Item{At: at, ID: idAt(at, g.r), Raw: raw}, nil
}

// input builds one decision input as a producer would send it at time at.
func (g *generator) input(at time.Time) map[string]any {
	r := g.r
	signal := map[string]any{"id": fmt.Sprintf("s-%016x", r.Uint64()), "source": pick(r, sources)}
	subject := map[string]any{"region": pick(r, regions)}
	in := map[string]any{"signal": signal, "subject": subject, "purpose": pick(r, purposes)}

	if r.IntN(100) < 97 {
		subject["id"] = "u-" + strconv.FormatUint(g.subjects.Uint64()+1, 10)
	}
	if r.IntN(100) < 3 { // producers disagree on case; the policy does not care
		subject["region"] = strings.ToLower(subject["region"].(string))
	}
	switch n := r.IntN(100); {
	case n < 3:
		subject["minor"] = true
	case n < 13:
		subject["minor"] = false
	}

	if topics := g.topics(); topics != nil {
		signal["topics"] = topics
	}
	if r.IntN(100) < 6 {
		signal["categories"] = []string{pick(r, categories)}
	}
	if obs, ok := g.observedAt(at); ok {
		signal["observed_at"] = obs
	}
	if r.IntN(1000) < 15 {
		g.malform(in, signal, subject, at)
	}
	return in
}

// topics draws 0 to 3 topics: mostly ordinary ones, some the taxonomy maps
// to a category, and now and then one from the long tail.
func (g *generator) topics() []string {
	r := g.r
	var n int
	switch k := r.IntN(100); {
	case k < 20:
		return nil
	case k < 60:
		n = 1
	case k < 88:
		n = 2
	default:
		n = 3
	}
	topics := make([]string, 0, n)
	for range n {
		var t string
		switch k := r.IntN(100); {
		case k < 7 && len(g.taxonomy) > 0:
			t = g.taxonomy[r.IntN(len(g.taxonomy))]
		case k < 12:
			t = rareTopics[r.IntN(len(rareTopics))]
		default:
			t = pick(r, g.common)
		}
		if r.IntN(100) < 2 {
			t = strings.ToUpper(t[:1]) + t[1:]
		}
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	return topics
}

// observedAt is usually seconds before the decision; sometimes absent (the
// policy then takes the decision time), sometimes from a backlog replayed
// months later (which may predate a rollout), rarely a little ahead because
// of clock skew, and in a few producers' local offset.
func (g *generator) observedAt(at time.Time) (string, bool) {
	r := g.r
	var t time.Time
	switch k := r.IntN(1000); {
	case k < 300:
		return "", false
	case k < 320:
		t = at.Add(-time.Duration(r.Int64N(int64(540 * day))))
	case k < 323:
		t = at.Add(time.Duration(r.Int64N(int64(4 * time.Minute))))
	default:
		t = at.Add(-time.Duration(r.ExpFloat64() * float64(20*time.Second)))
	}
	t = t.Truncate(time.Millisecond)
	if r.IntN(100) < 5 {
		return t.In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano), true
	}
	return t.UTC().Format(time.RFC3339Nano), true
}

// malform breaks the input the way one of malformations says.
func (g *generator) malform(in, signal, subject map[string]any, at time.Time) {
	switch pick(g.r, malformations) {
	case "no_region":
		delete(subject, "region")
	case "bad_region":
		subject["region"] = []string{"USA", "", "U5", "Deutschland"}[g.r.IntN(4)]
	case "bad_observed_at":
		signal["observed_at"] = []string{"yesterday", "2026-13-45T00:00:00Z", "1700000000", at.Format(time.DateTime)}[g.r.IntN(4)]
	case "future_observed_at":
		signal["observed_at"] = at.Add(time.Hour).Format(time.RFC3339)
	case "no_source":
		delete(signal, "source")
	case "unknown_purpose":
		in["purpose"] = "analytics"
	case "no_purpose":
		delete(in, "purpose")
	case "topics_not_array":
		signal["topics"] = "hiking"
	case "topic_not_string":
		signal["topics"] = []any{"cooking", 42}
	case "categories_not_array":
		signal["categories"] = "health"
	case "minor_not_boolean":
		subject["minor"] = "yes"
	}
}

// idAt returns a version 7 UUID whose timestamp is at, laid out as
// uuid.NewV7 lays out one made at that instant (milliseconds, then the
// fraction of the millisecond in 12 bits), so seeded ids sort with their
// decided_at just as native ones do. The random bits come from r, so a
// seed reproduces the ids too.
func idAt(at time.Time, r *rand.Rand) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[8:], r.Uint64())
	ms := uint64(at.UnixMilli())
	frac := uint64(at.Nanosecond()%int(time.Millisecond)) * 4096 / uint64(time.Millisecond)
	binary.BigEndian.PutUint64(id[:8], ms<<16|frac)
	id[6] = 0x70 | id[6]&0x0f // version 7
	id[8] = 0x80 | id[8]&0x3f // RFC 9562 variant
	return id
}
