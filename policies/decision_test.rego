# Shared fixtures and the end-to-end cases: the worked examples of the
# contract, and inputs that break several concerns at once.
package signalgate.decision_test

import data.signalgate.decision

# Every case is decided at this instant unless it says otherwise, so that
# "observed in the future" and "missing observed_at" are reproducible.
now_ns := 1769938260000000000 # 2026-02-01T09:31:00Z

# A well-formed input that every rule lets through; cases change one thing.
valid := {
	"signal": {
		"id": "sig-1",
		"source": "like",
		"topics": ["hiking"],
		"categories": [],
		"observed_at": "2026-02-01T09:30:00Z",
	},
	"subject": {"id": "u-1", "region": "US"},
	"purpose": "ads",
}

reasons_for(doc) := r if {
	r := decision.reasons with input as doc with time.now_ns as now_ns
}

allow_for(doc) := a if {
	a := decision.allow with input as doc with time.now_ns as now_ns
}

# valid with some fields of signal or subject replaced (deep merge).
with_signal(fields) := object.union(valid, {"signal": fields})

with_subject(fields) := object.union(valid, {"subject": fields})

invalid(field) := {"code": "invalid_input", "detail": field}

test_valid_input_is_allowed if {
	reasons_for(valid) == set()
	allow_for(valid)
}

test_allow_is_false_whenever_there_is_a_reason if {
	doc := with_signal({"source": "voice_assistant"})
	count(reasons_for(doc)) > 0
	allow_for(doc) == false
}

test_ids_are_never_required if {
	doc := json.remove(valid, ["signal/id", "subject/id"])
	reasons_for(doc) == set()
}

test_empty_input_reports_every_required_field if {
	reasons_for({}) == {invalid("signal.source"), invalid("purpose"), invalid("subject.region")}
	allow_for({}) == false
}

test_non_object_input_reports_every_required_field if {
	every doc in ["ads", 42, null, true, ["signal"]] {
		reasons_for(doc) == {invalid("signal.source"), invalid("purpose"), invalid("subject.region")}
	}
}

test_missing_signal_is_a_missing_source if {
	reasons_for(json.remove(valid, ["signal"])) == {invalid("signal.source")}
}

test_signal_not_an_object_is_a_missing_source if {
	every signal in ["like", 7, null, false, ["like"]] {
		reasons_for(object.union(valid, {"signal": signal})) == {invalid("signal.source")}
	}
}

test_missing_subject_is_a_missing_region if {
	reasons_for(json.remove(valid, ["subject"])) == {invalid("subject.region")}
}

test_subject_not_an_object_is_a_missing_region if {
	every subject in ["US", 7, null, true, ["US"]] {
		reasons_for(object.union(valid, {"subject": subject})) == {invalid("subject.region")}
	}
}

test_several_reasons_at_once if {
	doc := {
		"signal": {
			"source": "ai_chat",
			"topics": ["diabetes", 3],
			"categories": ["Politics"],
			"observed_at": "2025-12-15T23:59:59Z",
		},
		"subject": {"region": "uk", "minor": true},
		"purpose": "ads",
	}
	reasons_for(doc) == {
		invalid("signal.topics"),
		{"code": "before_rollout", "detail": "2025-12-16T00:00:00Z"},
		{"code": "region_excluded", "detail": "GB"},
		{"code": "sensitive_category", "detail": "health"},
		{"code": "sensitive_category", "detail": "politics"},
		{"code": "minor", "detail": "subject.minor"},
	}
}

# The worked examples of the contract, one case each. An example that lists
# `result_includes` only needs its reasons to be among the result's.

test_contract_allowed_us_ai_chat_benign_topic_after_rollout if {
	doc := {
		"signal": {"source": "ai_chat", "topics": ["running_shoes"], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-1", "region": "CA"},
		"purpose": "ads",
	}
	allow_for(doc) == true
	reasons_for(doc) == set()
}

test_contract_denied_excluded_region_reported_after_normalisation if {
	doc := {
		"signal": {"source": "ai_chat", "topics": ["running_shoes"], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-2", "region": "nl"},
		"purpose": "content_recommendation",
	}
	allow_for(doc) == false
	reasons_for(doc) == {{"code": "region_excluded", "detail": "NL"}}
}

test_contract_denied_observed_before_ai_chat_rollout_time_zone_aware if {
	doc := {
		"signal": {"source": "ai_chat", "topics": [], "observed_at": "2025-12-16T05:00:00+06:00"},
		"subject": {"id": "u-3", "region": "IN"},
		"purpose": "ads",
	}
	allow_for(doc) == false
	reasons_for(doc) == {{"code": "before_rollout", "detail": "2025-12-16T00:00:00Z"}}
}

test_contract_denied_topic_mapped_to_sensitive_category if {
	doc := {
		"signal": {"source": "comment", "topics": ["hiking", "Medication"], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-4", "region": "BR"},
		"purpose": "ads",
	}
	allow_for(doc) == false
	reasons_for(doc) == {{"code": "sensitive_category", "detail": "health"}}
}

test_contract_denied_several_reasons_at_once if {
	doc := {
		"signal": {"source": "ai_chat", "topics": ["synagogue"], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-5", "region": "PL"},
		"purpose": "ads",
	}
	allow_for(doc) == false
	reasons_for(doc) == {
		{"code": "region_excluded", "detail": "PL"},
		{"code": "sensitive_category", "detail": "religion"},
	}
}

test_contract_denied_source_with_no_rollout if {
	doc := {
		"signal": {"source": "voice_assistant", "topics": [], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-6", "region": "US"},
		"purpose": "ads",
	}
	allow_for(doc) == false
	reasons_for(doc) == {{"code": "no_rollout", "detail": "voice_assistant"}}
}

test_contract_denied_minor_never_targeted_with_ads if {
	doc := {
		"signal": {"source": "like", "topics": ["skateboarding"], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-8", "region": "US", "minor": true},
		"purpose": "ads",
	}
	allow_for(doc) == false
	reasons_for(doc) == {{"code": "minor", "detail": "subject.minor"}}
}

test_contract_denied_malformed_region if {
	doc := {
		"signal": {"source": "ai_chat", "topics": [], "observed_at": "2026-02-01T09:30:00Z"},
		"subject": {"id": "u-7", "region": "Germany"},
		"purpose": "ads",
	}
	allow_for(doc) == false
	invalid("subject.region") in reasons_for(doc)
}
