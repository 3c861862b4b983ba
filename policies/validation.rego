# invalid_input: a required field that is missing or malformed, or an optional
# one that is present but malformed.
#
# A missing field must make these rules fire, which `not f(input.x)` does not
# do: the compiler evaluates input.x before the negation, so an undefined x
# fails the whole body. Required fields are therefore tested through helper
# rules (`not _source`), optional ones are bound before being tested.
package signalgate.admission

reasons contains {"code": "invalid_input", "detail": "signal.source"} if not _source

reasons contains {"code": "invalid_input", "detail": "purpose"} if not _purpose

reasons contains {"code": "invalid_input", "detail": "subject.region"} if not _region_well_formed

reasons contains {"code": "invalid_input", "detail": "signal.observed_at"} if {
	_observed_at_given
	not _observed_ns
}

# A signal cannot be observed after the decision about it; five minutes
# absorb clock skew between producer and decider.
reasons contains {"code": "invalid_input", "detail": "signal.observed_at"} if {
	_observed_ns > time.now_ns() + 300000000000
}

reasons contains {"code": "invalid_input", "detail": "signal.topics"} if {
	topics := input.signal.topics
	not is_array(topics)
}

reasons contains {"code": "invalid_input", "detail": "signal.topics"} if {
	some topic in input.signal.topics
	not is_string(topic)
}

reasons contains {"code": "invalid_input", "detail": "signal.categories"} if {
	categories := input.signal.categories
	not is_array(categories)
}

reasons contains {"code": "invalid_input", "detail": "signal.categories"} if {
	some category in input.signal.categories
	not is_string(category)
}

reasons contains {"code": "invalid_input", "detail": "subject.minor"} if {
	minor := input.subject.minor
	not is_boolean(minor)
}

_source := source if {
	source := input.signal.source
	is_string(source)
	source != ""
}

# The purposes are whatever the data lists, so adding one needs no policy
# change.
_purpose := purpose if {
	purpose := input.purpose
	data.targeting.purposes[purpose]
}

# ASCII letters only: upper() would turn some non-ASCII letters (ı, ſ) into
# ASCII ones, and so into a real country code.
_region_well_formed if regex.match(`^[A-Za-z]{2}$`, input.subject.region)
