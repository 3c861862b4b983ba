# Rollouts: a source may feed a purpose only once a rollout has been
# configured for that pair, and only with signals observed from its start on.
package signalgate.decision

# Unknown sources are accepted as input (new producers appear before their
# rollout does) but denied here. With an unknown purpose the pair cannot be
# judged, and invalid_input already says why.
reasons contains {"code": "no_rollout", "detail": _source} if {
	_purpose
	not _start
}

# Written as `not observed >= start` so that a start that does not parse as
# RFC 3339 denies instead of silently opening the rollout. Instants are
# compared, not strings, so any offset in observed_at is honoured.
reasons contains {"code": "before_rollout", "detail": _start} if {
	observed := _observed_ns
	not observed >= time.parse_rfc3339_ns(_start)
}
