package signalgate.decision_test

sensitive(category) := {"code": "sensitive_category", "detail": category}

# The topics the taxonomy must map, by category.
required_topics := {
	"health": [
		"diabetes", "cancer", "depression", "anxiety", "pregnancy", "hiv",
		"mental_health", "medication", "therapy", "disability",
	],
	"politics": ["election", "voting", "political_party", "immigration_policy", "protest", "abortion_policy"],
	"religion": ["church", "mosque", "synagogue", "prayer", "bible", "quran", "atheism"],
	"sexual_orientation": ["lgbtq", "gay", "lesbian", "bisexual", "transgender", "dating_preferences"],
	"ethnicity": ["ethnic_origin", "race"],
	"trade_union": ["union_membership", "labor_union"],
	"genetics": ["dna_test", "genetic_testing"],
	"biometrics": ["face_recognition", "fingerprint"],
}

test_the_sensitive_categories_are_those_of_gdpr_article_9 if {
	{c | some c, _ in data.targeting.sensitive_categories} == {
		"politics", "health", "religion", "ethnicity",
		"sexual_orientation", "trade_union", "genetics", "biometrics",
	}
}

test_the_taxonomy_maps_only_to_sensitive_categories if {
	every topic, category in data.targeting.topic_categories {
		topic == lower(topic)
		data.targeting.sensitive_categories[category]
	}
}

test_every_required_topic_is_denied_as_its_category if {
	every category, topics in required_topics {
		every topic in topics {
			data.targeting.topic_categories[topic] == category
			reasons_for(with_signal({"topics": [topic]})) == {sensitive(category)}
		}
	}
}

test_every_mapped_topic_is_denied if {
	every topic, category in data.targeting.topic_categories {
		reasons_for(with_signal({"topics": ["hiking", topic]})) == {sensitive(category)}
	}
}

test_every_sensitive_category_is_denied if {
	every category, _ in data.targeting.sensitive_categories {
		reasons_for(with_signal({"categories": [category]})) == {sensitive(category)}
	}
}

test_topics_match_in_any_case if {
	every topic in ["Medication", "MEDICATION", "medication", "mEdIcAtIoN"] {
		reasons_for(with_signal({"topics": [topic]})) == {sensitive("health")}
	}
}

test_categories_match_in_any_case_and_are_reported_in_lower_case if {
	reasons_for(with_signal({"categories": ["HEALTH"]})) == {sensitive("health")}
	reasons_for(with_signal({"categories": ["Sexual_Orientation"]})) == {sensitive("sexual_orientation")}
}

test_a_category_is_reported_once if {
	reasons_for(with_signal({"categories": ["health", "Health", "HEALTH", "health"]})) == {sensitive("health")}
	reasons_for(with_signal({"topics": ["diabetes", "cancer", "Therapy"], "categories": ["health"]})) == {sensitive("health")}
}

test_each_distinct_category_is_reported if {
	doc := with_signal({"topics": ["election", "mosque"], "categories": ["genetics", "sports"]})
	reasons_for(doc) == {sensitive("politics"), sensitive("religion"), sensitive("genetics")}
}

test_benign_topics_and_categories_are_allowed if {
	reasons_for(with_signal({"topics": ["hiking", "running_shoes", "cooking"], "categories": ["sports", "travel"]})) == set()
}

test_a_topic_is_not_a_category if {
	# "diabetes" is a topic; as a category it names nothing sensitive.
	reasons_for(with_signal({"categories": ["diabetes"]})) == set()

	# "health" is a category; as a topic the taxonomy does not list it.
	reasons_for(with_signal({"topics": ["health"]})) == set()
}

test_a_topic_mapped_to_a_category_that_is_not_sensitive_is_allowed if {
	reasons_for(with_signal({"topics": ["marathon"]})) == set() with data.targeting.topic_categories.marathon as "sports"
}

test_sensitive_categories_apply_to_every_source_and_purpose if {
	every source, purposes in data.targeting.rollouts {
		every purpose, _ in purposes {
			doc := object.union(valid, {"signal": {"source": source, "topics": ["hiv"]}, "purpose": purpose})
			reasons_for(doc) == {sensitive("health")}
		}
	}
}

test_strings_beside_a_malformed_element_still_count if {
	reasons_for(with_signal({"topics": ["cancer", 7]})) == {invalid("signal.topics"), sensitive("health")}
	reasons_for(with_signal({"categories": [null, "Religion"]})) == {invalid("signal.categories"), sensitive("religion")}
}

test_malformed_lists_are_only_invalid if {
	reasons_for(with_signal({"topics": "cancer"})) == {invalid("signal.topics")}
	reasons_for(with_signal({"categories": "health"})) == {invalid("signal.categories")}
}
