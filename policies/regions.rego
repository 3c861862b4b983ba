# Regions: a source/purpose pair may be barred for subjects in some regions.
# Regions arrive in any case and under two non-ISO aliases, so they are
# normalised before the lookup and reported in their normalised form.
package signalgate.decision

# The exclusion list is looked up first: most pairs have none, which ends the
# rule before any normalisation work. A malformed region is left to
# validation rather than reported as excluded.
reasons contains {"code": "region_excluded", "detail": region} if {
	excluded := data.targeting.rollouts[input.signal.source][input.purpose].excluded_regions
	raw := input.subject.region
	regex.match(`^[A-Za-z]{2}$`, raw)
	code := upper(raw)

	# UK and EL name the same countries as GB and GR; without this an
	# alias would escape its country's exclusion.
	region := object.get(data.targeting.region_aliases, code, code)
	excluded[region]
}
