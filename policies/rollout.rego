# Rollouts: a source may feed a purpose only once a rollout has been
# configured for that pair, and only with signals observed from its start on.
package signalgate.admission

# Any source string is accepted as input, since producers appear before their
# rollout does, and denied here until the data configures one. An invalid
# source or purpose leaves nothing to look up, and validation already says
# why. A configured pair without a start counts as not configured.
reasons contains {"code": "no_rollout", "detail": source} if {
	source := _source
	purpose := _purpose
	not data.targeting.rollouts[source][purpose].start
}

# Instants are compared, not strings, so any offset in observed_at is
# honoured, and a signal observed at the start itself is in.
reasons contains {"code": "before_rollout", "detail": start} if {
	start := data.targeting.rollouts[_source][_purpose].start
	observed := _observed_ns
	not _started(observed, start)
}

# Also false when the configured start does not parse, so that a mistake in
# the data keeps the rollout closed instead of opening it.
_started(observed, start) if observed >= time.parse_rfc3339_ns(start)
