package signalgate.decision_test

# signal.source

test_source_missing_is_invalid if {
	reasons_for(json.remove(valid, ["signal/source"])) == {invalid("signal.source")}
}

test_source_not_a_string_is_invalid if {
	every source in [7, null, false, true, ["like"], {"name": "like"}] {
		reasons_for(with_signal({"source": source})) == {invalid("signal.source")}
	}
}

test_source_empty_is_invalid if {
	reasons_for(with_signal({"source": ""})) == {invalid("signal.source")}
}

# purpose

test_purpose_missing_is_invalid if {
	reasons_for(json.remove(valid, ["purpose"])) == {invalid("purpose")}
}

test_purpose_unknown_is_invalid_and_nothing_else if {
	every purpose in ["analytics", "Ads", "ADS", " ads", ""] {
		reasons_for(object.union(valid, {"purpose": purpose})) == {invalid("purpose")}
	}
}

test_purpose_not_a_string_is_invalid if {
	every purpose in [1, null, false, ["ads"], {"ads": true}] {
		reasons_for(object.union(valid, {"purpose": purpose})) == {invalid("purpose")}
	}
}

test_every_configured_purpose_is_valid if {
	every purpose, _ in data.targeting.purposes {
		reasons_for(object.union(valid, {"purpose": purpose})) == set()
	}
}

# subject.region

test_region_missing_is_invalid if {
	reasons_for(json.remove(valid, ["subject/region"])) == {invalid("subject.region")}
}

test_region_malformed_is_invalid if {
	every region in ["Germany", "DEU", "usa", "D", "", "d1", "U S", "US ", "ıt", "ſe", "ÜS"] {
		reasons_for(with_subject({"region": region})) == {invalid("subject.region")}
	}
}

test_region_not_a_string_is_invalid if {
	every region in [276, null, false, ["US"], {"code": "US"}] {
		reasons_for(with_subject({"region": region})) == {invalid("subject.region")}
	}
}

test_region_is_case_insensitive if {
	every region in ["us", "Us", "uS"] {
		reasons_for(with_subject({"region": region})) == set()
	}
}

# signal.observed_at

test_observed_at_malformed_is_invalid if {
	every observed_at in [
		"yesterday",
		"2026-02-01",
		"2026-02-01 09:30:00Z",
		"2026-02-01T09:30:00",
		"2026-13-01T09:30:00Z",
		"2026-02-30T09:30:00Z",
		"1600-01-01T00:00:00Z",
		"",
	] {
		reasons_for(with_signal({"observed_at": observed_at})) == {invalid("signal.observed_at")}
	}
}

test_observed_at_not_a_string_is_invalid if {
	every observed_at in [1769938200000000000, null, false, true, ["2026-02-01T09:30:00Z"], {}] {
		reasons_for(with_signal({"observed_at": observed_at})) == {invalid("signal.observed_at")}
	}
}

test_observed_at_up_to_five_minutes_ahead_is_tolerated if {
	every observed_at in [
		"2026-02-01T09:31:00Z",
		"2026-02-01T09:31:01Z",
		"2026-02-01T09:36:00Z",
		"2026-02-01T10:36:00+01:00",
	] {
		reasons_for(with_signal({"observed_at": observed_at})) == set()
	}
}

test_observed_at_more_than_five_minutes_ahead_is_invalid if {
	every observed_at in [
		"2026-02-01T09:36:00.000000001Z",
		"2026-02-01T09:36:01Z",
		"2026-02-01T08:36:01-01:00",
		"2027-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
	] {
		reasons_for(with_signal({"observed_at": observed_at})) == {invalid("signal.observed_at")}
	}
}

test_observed_at_missing_is_fine if {
	reasons_for(json.remove(valid, ["signal/observed_at"])) == set()
}

# signal.topics and signal.categories

test_topics_missing_or_empty_is_fine if {
	reasons_for(json.remove(valid, ["signal/topics"])) == set()
	reasons_for(with_signal({"topics": []})) == set()
}

test_topics_not_an_array_is_invalid if {
	every topics in ["hiking", 3, null, false, {"hiking": true}] {
		reasons_for(with_signal({"topics": topics})) == {invalid("signal.topics")}
	}
}

test_topics_with_a_non_string_is_invalid if {
	every topics in [["hiking", 3], [null], [["hiking"]], [{"topic": "hiking"}], [true]] {
		reasons_for(with_signal({"topics": topics})) == {invalid("signal.topics")}
	}
}

test_categories_missing_or_empty_is_fine if {
	reasons_for(json.remove(valid, ["signal/categories"])) == set()
	reasons_for(with_signal({"categories": []})) == set()
}

test_categories_not_an_array_is_invalid if {
	every categories in ["health", "sports", 3, null, false, {"health": true}] {
		reasons_for(with_signal({"categories": categories})) == {invalid("signal.categories")}
	}
}

test_categories_with_a_non_string_is_invalid if {
	every categories in [["sports", 3], [null], [["health"]], [false]] {
		reasons_for(with_signal({"categories": categories})) == {invalid("signal.categories")}
	}
}

# subject.minor

test_minor_not_a_boolean_is_invalid if {
	every value in ["yes", "true", 1, 0, null, [true], {}] {
		reasons_for(with_subject({"minor": value})) == {invalid("subject.minor")}
	}
}

test_minor_missing_or_boolean_is_fine if {
	reasons_for(json.remove(valid, ["subject/minor"])) == set()
	reasons_for(with_subject({"minor": false})) == set()
	reasons_for(with_subject({"minor": true, "region": "US"})) == {minor_reason}
}

# Several malformed fields are all reported, each once.

test_every_malformed_field_is_reported if {
	doc := {
		"signal": {"source": 1, "topics": "x", "categories": [2], "observed_at": "soon"},
		"subject": {"region": "Deutschland", "minor": "no"},
		"purpose": "sales",
	}
	reasons_for(doc) == {
		invalid("signal.source"),
		invalid("purpose"),
		invalid("subject.region"),
		invalid("signal.observed_at"),
		invalid("signal.topics"),
		invalid("signal.categories"),
		invalid("subject.minor"),
	}
}
