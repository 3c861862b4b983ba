package signalgate.decision_test

import data.signalgate.decision

ai_chat := object.union(valid, {"signal": {"source": "ai_chat"}})

before_ai_chat := {"code": "before_rollout", "detail": "2025-12-16T00:00:00Z"}

test_unknown_source_has_no_rollout if {
	every source in ["voice_assistant", "AI_CHAT", "Like", " like", "ai chat"] {
		reasons_for(with_signal({"source": source})) == {{"code": "no_rollout", "detail": source}}
	}
}

test_unknown_source_with_an_invalid_purpose_is_only_an_invalid_purpose if {
	doc := object.union(with_signal({"source": "voice_assistant"}), {"purpose": "analytics"})
	reasons_for(doc) == {invalid("purpose")}
	reasons_for(json.remove(doc, ["purpose"])) == {invalid("purpose")}
}

test_invalid_source_has_no_rollout_reason if {
	reasons_for(with_signal({"source": 7})) == {invalid("signal.source")}
	reasons_for(json.remove(valid, ["signal/source"])) == {invalid("signal.source")}
}

test_every_configured_pair_is_open_after_its_start if {
	every source, purposes in data.targeting.rollouts {
		every purpose, _ in purposes {
			reasons_for(object.union(valid, {"signal": {"source": source}, "purpose": purpose})) == set()
		}
	}
}

test_a_purpose_without_a_rollout_for_the_source_has_no_rollout if {
	like := {"content_recommendation": {"start": "2010-01-01T00:00:00Z"}}
	reasons_for(valid) == {{"code": "no_rollout", "detail": "like"}} with data.targeting.rollouts.like as like
	reasons_for(object.union(valid, {"purpose": "content_recommendation"})) == set() with data.targeting.rollouts.like as like
}

test_a_rollout_without_a_start_is_no_rollout if {
	reasons_for(valid) == {{"code": "no_rollout", "detail": "like"}} with data.targeting.rollouts.like.ads as {}
}

test_a_start_that_does_not_parse_keeps_the_rollout_closed if {
	reasons_for(valid) == {{"code": "before_rollout", "detail": "soon"}} with data.targeting.rollouts.like.ads.start as "soon"
}

test_observed_exactly_at_the_start_is_allowed if {
	reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-16T00:00:00Z"}})) == set()
}

test_observed_one_second_before_the_start_is_denied if {
	doc := object.union(ai_chat, {"signal": {"observed_at": "2025-12-15T23:59:59Z"}})
	reasons_for(doc) == {before_ai_chat}
}

test_observed_one_nanosecond_before_the_start_is_denied if {
	doc := object.union(ai_chat, {"signal": {"observed_at": "2025-12-15T23:59:59.999999999Z"}})
	reasons_for(doc) == {before_ai_chat}
}

test_offsets_are_compared_as_instants if {
	# 05:00 at +06:00 is 23:00 UTC the day before: still before the start.
	reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-16T05:00:00+06:00"}})) == {before_ai_chat}

	# 06:00 at +06:00 is the start itself.
	reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-16T06:00:00+06:00"}})) == set()

	# 23:30 at -01:00 is 00:30 UTC the next day: after the start.
	reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-15T23:30:00-01:00"}})) == set()
}

test_missing_observed_at_is_the_decision_time if {
	doc := json.remove(ai_chat, ["signal/observed_at"])
	r_before := decision.reasons with input as doc with time.now_ns as 1765843199000000000 # 2025-12-15T23:59:59Z
	r_before == {before_ai_chat}
	r_at := decision.reasons with input as doc with time.now_ns as 1765843200000000000 # 2025-12-16T00:00:00Z
	r_at == set()
}

test_an_unreadable_observed_at_is_only_invalid if {
	doc := object.union(ai_chat, {"signal": {"observed_at": "2025-12-15"}})
	reasons_for(doc) == {invalid("signal.observed_at")}
}

test_a_rollout_starting_later_denies_until_then if {
	reasons_for(valid) == {{"code": "before_rollout", "detail": "2026-03-01T00:00:00+01:00"}} with data.targeting.rollouts.like.ads.start as "2026-03-01T00:00:00+01:00"
}

test_the_start_is_reported_exactly_as_configured if {
	doc := object.union(valid, {"signal": {"observed_at": "2026-02-01T09:30:00Z"}})
	start := "2026-02-01T10:30:00.5+01:00"
	reasons_for(doc) == {{"code": "before_rollout", "detail": start}} with data.targeting.rollouts.like.ads.start as start
}

test_the_exact_rules_also_open_at_the_start if {
	exact_reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-16T00:00:00Z"}})) == set()
	exact_reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-16T06:00:00+06:00"}})) == set()
	exact_reasons_for(object.union(ai_chat, {"signal": {"observed_at": "2025-12-15T23:59:59Z"}})) == {before_ai_chat}
}

test_a_source_or_purpose_missing_from_the_data_is_never_valid if {
	# Even if the data configured them, an empty source and a purpose that
	# is not a listed purpose stay invalid.
	rollouts := object.union(data.targeting.rollouts, {
		"": {"ads": {"start": "2010-01-01T00:00:00Z"}},
		"like": {"analytics": {"start": "2010-01-01T00:00:00Z"}},
	})
	reasons_for(with_signal({"source": ""})) == {invalid("signal.source")} with data.targeting.rollouts as rollouts
	reasons_for(object.union(valid, {"purpose": "analytics"})) == {invalid("purpose")} with data.targeting.rollouts as rollouts
}
