# Special categories of personal data (GDPR art. 9) are never used for
# targeting, whatever the source or purpose. A signal carries them either as
# categories an upstream classifier assigned or as topics the taxonomy maps to
# a category. Being a set, `reasons` reports each category once however many
# topics and categories point at it.
package signalgate.decision

# Producers disagree on case; the data is kept lower-case, so that is the
# form looked up and reported. Non-strings are skipped here (and reported by
# validation) so that lower() never fails the whole evaluation.
reasons contains {"code": "sensitive_category", "detail": c} if {
	some raw in input.signal.categories
	is_string(raw)
	c := lower(raw)
	data.targeting.sensitive_categories[c]
}

# The taxonomy may map topics to categories that are not sensitive, so the
# mapped category is checked against the sensitive list too.
reasons contains {"code": "sensitive_category", "detail": c} if {
	some raw in input.signal.topics
	is_string(raw)
	c := data.targeting.topic_categories[lower(raw)]
	data.targeting.sensitive_categories[c]
}
