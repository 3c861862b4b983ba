package signalgate.decision_test

# The countries where ai_chat signals may not be used, for either purpose:
# the EU member states, the EU territories with codes of their own, the rest
# of the EEA, and the United Kingdom.
ai_chat_excluded := {
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
	"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
	"AX", "GF", "GP", "MQ", "RE", "YT", "MF",
	"IS", "LI", "NO",
	"GB",
}

ai_chat_for(region, purpose) := object.union(valid, {
	"signal": {"source": "ai_chat"},
	"subject": {"region": region},
	"purpose": purpose,
})

excluded(region) := {"code": "region_excluded", "detail": region}

test_the_data_excludes_exactly_the_listed_regions_for_ai_chat if {
	every purpose, _ in data.targeting.purposes {
		{code | some code, _ in data.targeting.rollouts.ai_chat[purpose].excluded_regions} == ai_chat_excluded
	}
}

test_no_other_source_excludes_a_region_by_default if {
	every purposes in object.remove(data.targeting.rollouts, ["ai_chat"]) {
		every rollout in purposes {
			not rollout.excluded_regions
		}
	}
}

test_every_excluded_region_is_denied_for_ai_chat if {
	every region in ai_chat_excluded {
		every purpose, _ in data.targeting.purposes {
			reasons_for(ai_chat_for(region, purpose)) == {excluded(region)}
		}
	}
}

test_excluded_regions_match_in_any_case if {
	reasons_for(ai_chat_for("nl", "content_recommendation")) == {excluded("NL")}
	reasons_for(ai_chat_for("Fr", "ads")) == {excluded("FR")}
	reasons_for(ai_chat_for("dE", "ads")) == {excluded("DE")}
}

test_aliases_are_excluded_as_their_country if {
	every purpose, _ in data.targeting.purposes {
		reasons_for(ai_chat_for("UK", purpose)) == {excluded("GB")}
		reasons_for(ai_chat_for("uk", purpose)) == {excluded("GB")}
		reasons_for(ai_chat_for("EL", purpose)) == {excluded("GR")}
		reasons_for(ai_chat_for("el", purpose)) == {excluded("GR")}
	}
}

test_regions_outside_the_list_are_allowed_for_ai_chat if {
	every region in ["US", "CA", "CH", "IN", "BR", "JP", "AU", "TR", "RS", "UA", "us", "ch"] {
		reasons_for(ai_chat_for(region, "ads")) == set()
	}
}

test_other_sources_are_not_region_excluded if {
	every source in ["like", "share", "comment", "follow"] {
		every region in ["FR", "de", "UK", "EL", "NL", "GB"] {
			reasons_for(object.union(valid, {"signal": {"source": source}, "subject": {"region": region}})) == set()
		}
	}
}

test_exclusions_come_from_the_data if {
	like_ads := {"start": "2010-01-01T00:00:00Z", "excluded_regions": {"US": "United States"}}
	reasons_for(valid) == {excluded("US")} with data.targeting.rollouts.like.ads as like_ads
	reasons_for(object.union(valid, {"purpose": "content_recommendation"})) == set() with data.targeting.rollouts.like.ads as like_ads
}

test_aliases_come_from_the_data if {
	reasons_for(ai_chat_for("UK", "ads")) == set() with data.targeting.region_aliases as {}
	reasons_for(ai_chat_for("zz", "ads")) == {excluded("FR")} with data.targeting.region_aliases as {"ZZ": "FR"}
}

test_a_missing_region_is_only_invalid if {
	reasons_for(json.remove(ai_chat_for("FR", "ads"), ["subject/region"])) == {invalid("subject.region")}
	reasons_for(json.remove(ai_chat_for("FR", "ads"), ["subject"])) == {invalid("subject.region")}
}

test_a_malformed_region_is_only_invalid if {
	every region in ["ıt", "ſe", "FRA", "F", 33, null] {
		reasons_for(ai_chat_for(region, "ads")) == {invalid("subject.region")}
	}
}

test_an_excluded_region_with_a_broken_source_or_purpose_is_only_invalid if {
	reasons_for(json.remove(ai_chat_for("FR", "ads"), ["signal/source"])) == {invalid("signal.source")}
	reasons_for(json.remove(ai_chat_for("FR", "ads"), ["purpose"])) == {invalid("purpose")}
}
