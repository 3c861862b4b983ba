package signalgate.decision_test

minor_reason := {"code": "minor", "detail": "subject.minor"}

test_a_minor_is_not_targeted_with_ads if {
	reasons_for(with_subject({"minor": true})) == {minor_reason}
	allow_for(with_subject({"minor": true})) == false
}

test_content_may_be_recommended_to_a_minor if {
	reasons_for(object.union(with_subject({"minor": true}), {"purpose": "content_recommendation"})) == set()
}

test_an_adult_may_be_targeted_with_ads if {
	reasons_for(with_subject({"minor": false})) == set()
}

test_a_subject_not_known_to_be_a_minor_may_be_targeted_with_ads if {
	reasons_for(valid) == set()
}

test_a_malformed_minor_is_only_invalid if {
	every value in ["yes", "true", 1, null] {
		reasons_for(with_subject({"minor": value})) == {invalid("subject.minor")}
	}
}

test_a_minor_with_a_broken_purpose_is_only_an_invalid_purpose if {
	reasons_for(json.remove(with_subject({"minor": true}), ["purpose"])) == {invalid("purpose")}
	reasons_for(object.union(with_subject({"minor": true}), {"purpose": "Ads"})) == {invalid("purpose")}
}

test_a_minor_is_not_targeted_with_ads_from_any_source if {
	every source in ["ai_chat", "like", "share", "comment", "follow"] {
		doc := object.union(valid, {"signal": {"source": source}, "subject": {"minor": true}})
		reasons_for(doc) == {minor_reason}
	}
}
