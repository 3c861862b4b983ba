# Regions: some source/purpose pairs may not be used for subjects in some
# regions. Regions arrive in any case and under a few non-ISO aliases, so they
# are normalised before the lookup and reported in their normalised form.
package signalgate.decision

# ISO 3166-1 alpha-2, upper-cased. The pattern is checked on the raw value:
# upper() maps a few non-ASCII letters (ı, ſ) onto ASCII ones.
_region_code := upper(r) if {
	r := input.subject.region
	is_string(r)
	regex.match(`^[A-Za-z]{2}$`, r)
}

# Aliases such as UK and EL name the same territory as GB and GR; without
# this an alias would escape its country's exclusion.
_region := data.targeting.region_aliases[_region_code]

_region := _region_code if not data.targeting.region_aliases[_region_code]

reasons contains {"code": "region_excluded", "detail": _region} if {
	data.targeting.rollouts[_source][_purpose].excluded_regions[_region]
}
