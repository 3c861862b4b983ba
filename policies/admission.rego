# Admission: is the input well formed, and does it name a source and purpose
# whose rollout has started? These reasons (invalid_input from validation.rego,
# no_rollout and before_rollout from rollout.rego) join the decision's reasons
# through signalgate.decision.
package signalgate.admission

# A quick, positive check that none of this package's reasons can apply; the
# decision skips the exact rules when it holds. It must therefore never hold
# for an input that one of them would object to, and may, harmlessly, fail
# for one they accept: that input merely takes the exact path.
admissible if {
	source := input.signal.source
	source != ""
	purpose := input.purpose
	data.targeting.purposes[purpose]
	start := data.targeting.rollouts[source][purpose].start
	observed := _observed_ns
	observed >= time.parse_rfc3339_ns(start)

	# Stricter than validation's five minutes, and free of its big-number
	# arithmetic: a signal from the last few minutes of skew merely takes the
	# exact path.
	observed <= time.now_ns()
	regex.match(`^[A-Za-z]{2}$`, input.subject.region)
	is_boolean(object.get(input.subject, "minor", false))

	# concat accepts only an array (or set) of strings and fails on anything
	# else, which makes it the cheapest test for a list of strings.
	concat("", object.get(input.signal, "topics", []))
	concat("", object.get(input.signal, "categories", []))
}

# When the signal was observed, in nanoseconds; the decision time when
# observed_at is missing, and undefined when it is present but unreadable.
# The engine pins time.now_ns() to the decision instant, so a replay gives
# the same answer.
_observed_ns := observed if {
	observed := time.parse_rfc3339_ns(input.signal.observed_at)
} else := time.now_ns() if not _observed_at_given

# `type_name` is defined for any present value, so an explicit `false` or
# `null` counts as given (and malformed) rather than missing.
_observed_at_given if type_name(input.signal.observed_at)
