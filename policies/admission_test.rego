package signalgate.decision_test

import data.signalgate.admission
import data.signalgate.decision

# The same decision with the quick check switched off, so that only the
# exact rules speak.
exact_reasons_for(doc) := r if {
	r := decision.reasons with input as doc with time.now_ns as now_ns with admission.admissible as false
}

# The quick check only saves work: for any input, switching it off must give
# the same reasons. These inputs cover each way of passing or failing it.

corpus := [
	valid,
	{},
	{"signal": "x", "subject": 1},
	json.remove(valid, ["signal"]),
	json.remove(valid, ["subject"]),
	json.remove(valid, ["purpose"]),
	json.remove(valid, ["signal/observed_at"]),
	json.remove(valid, ["signal/topics", "signal/categories"]),
	with_signal({"source": ""}),
	with_signal({"source": 3}),
	with_signal({"source": "voice_assistant"}),
	with_signal({"source": "ai_chat"}),
	with_signal({"source": "ai_chat", "observed_at": "2025-12-16T00:00:00Z"}),
	with_signal({"source": "ai_chat", "observed_at": "2025-12-15T23:59:59Z"}),
	with_signal({"source": "ai_chat", "observed_at": "2025-12-16T05:00:00+06:00"}),
	with_signal({"observed_at": "2026-02-01T09:36:00Z"}),
	with_signal({"observed_at": "2026-02-01T09:36:01Z"}),
	with_signal({"observed_at": "garbage"}),
	with_signal({"observed_at": null}),
	with_signal({"observed_at": false}),
	with_signal({"topics": "cancer"}),
	with_signal({"topics": ["cancer", 7]}),
	with_signal({"topics": null}),
	with_signal({"categories": ["HEALTH", "health"]}),
	with_signal({"categories": {"health": true}}),
	with_signal({"categories": [false]}),
	with_subject({"region": "fr"}),
	with_subject({"region": "Germany"}),
	with_subject({"region": 49}),
	with_subject({"region": null}),
	with_subject({"minor": true}),
	with_subject({"minor": "yes"}),
	with_subject({"minor": null}),
	object.union(valid, {"purpose": "content_recommendation", "subject": {"minor": true}}),
	object.union(valid, {"purpose": "analytics"}),
	object.union(valid, {"purpose": 7}),
	object.union(valid, {"signal": {"source": "ai_chat"}, "subject": {"region": "uk"}}),
	object.union(valid, {"signal": {"source": "ai_chat", "topics": ["synagogue"]}, "subject": {"region": "PL"}}),
	{
		"signal": {"source": "ai_chat", "topics": ["diabetes", 3], "categories": ["Politics"], "observed_at": "2025-12-15T23:59:59Z"},
		"subject": {"region": "uk", "minor": true},
		"purpose": "ads",
	},
]

test_the_quick_check_never_changes_a_decision if {
	every doc in corpus {
		reasons_for(doc) == exact_reasons_for(doc)
	}
}

test_an_input_passing_the_quick_check_has_no_admission_reason if {
	passing := [doc |
		some doc in corpus
		admission.admissible with input as doc with time.now_ns as now_ns
	]
	count(passing) > 5
	every doc in passing {
		reasons := admission.reasons with input as doc with time.now_ns as now_ns
		reasons == set()
	}
}

test_the_quick_check_agrees_when_the_decision_time_is_before_a_start if {
	doc := json.remove(object.union(valid, {"signal": {"source": "ai_chat"}}), ["signal/observed_at"])
	at := 1765843199000000000 # 2025-12-15T23:59:59Z
	quick := decision.reasons with input as doc with time.now_ns as at
	exact := decision.reasons with input as doc with time.now_ns as at with admission.admissible as false
	quick == {{"code": "before_rollout", "detail": "2025-12-16T00:00:00Z"}}
	exact == quick
}
