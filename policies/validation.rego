# invalid_input: a required field that is missing or malformed, or an optional
# one that is present but malformed. Each check is written positively against
# the normalised helper (`not _x`), so a missing field denies rather than
# slipping past a negated membership test.
package signalgate.decision

reasons contains {"code": "invalid_input", "detail": "signal.source"} if not _source

reasons contains {"code": "invalid_input", "detail": "purpose"} if not _purpose

reasons contains {"code": "invalid_input", "detail": "subject.region"} if not _region

# Present but not an RFC 3339 string: `_observed_ns` only falls back to the
# decision time when the field is absent.
reasons contains {"code": "invalid_input", "detail": "signal.observed_at"} if {
	type_name(input.signal.observed_at)
	not _observed_ns
}

# A signal cannot have been observed after the decision about it; five
# minutes of clock skew between producer and decider are tolerated, anything
# further ahead is a broken clock or a made-up timestamp.
reasons contains {"code": "invalid_input", "detail": "signal.observed_at"} if {
	_observed_ns > time.now_ns() + 300000000000
}

reasons contains {"code": "invalid_input", "detail": "signal.topics"} if {
	t := input.signal.topics
	not is_array(t)
}

reasons contains {"code": "invalid_input", "detail": "signal.topics"} if {
	some t in input.signal.topics
	not is_string(t)
}

reasons contains {"code": "invalid_input", "detail": "signal.categories"} if {
	c := input.signal.categories
	not is_array(c)
}

reasons contains {"code": "invalid_input", "detail": "signal.categories"} if {
	some c in input.signal.categories
	not is_string(c)
}

reasons contains {"code": "invalid_input", "detail": "subject.minor"} if {
	m := input.subject.minor
	not is_boolean(m)
}
