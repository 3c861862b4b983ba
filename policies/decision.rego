# The default targeting decision: may this signal about this subject be used
# for this purpose? Every concern adds its reasons to the one `reasons` set in
# its own file; a decision is allowed only when nobody objected.
package signalgate.decision

# Fail closed: anything that keeps `reasons` from being computed denies.
default allow := false

allow if count(reasons) == 0

# The helpers below normalise each input field once per evaluation (complete
# rules are cached) and are undefined when the field is missing or malformed,
# so every rule that reads them stays silent and validation.rego reports the
# field instead. A missing or non-object signal or subject needs no special
# case: a reference into it is undefined, exactly like a missing field.

_source := s if {
	s := input.signal.source
	is_string(s)
	s != ""
}

# Indexing data by the input value, rather than listing the known purposes,
# keeps the set of purposes editable in data alone.
_purpose := p if {
	p := input.purpose
	is_string(p)
	data.targeting.purposes[p]
}

# The rollout start as configured; its absence is what "no rollout" means.
# Only the leaf is read: reading the whole rollout object would copy its
# excluded regions on every decision.
_start := data.targeting.rollouts[_source][_purpose].start

# Decision time when the caller did not say when the signal was observed; the
# engine pins time.now_ns() to the decision instant, so replays agree.
# type_name, unlike a bare reference, is defined for a present `false` or
# `null`, which must count as given (and malformed), not as absent.
_observed_ns := time.now_ns() if not type_name(input.signal.observed_at)

_observed_ns := time.parse_rfc3339_ns(input.signal.observed_at) if is_string(input.signal.observed_at)
