# Special categories of personal data (GDPR art. 9) are never used for
# targeting, whatever the source or purpose. A signal carries them either as
# categories an upstream classifier assigned or as topics that the taxonomy
# maps to a category. `reasons` being a set, each category is reported once
# however many topics and categories point at it.
package signalgate.decision

# Producers disagree on case; the data is kept in lower case, which is
# therefore the form looked up and reported. Non-strings are skipped here and
# reported by validation.
reasons contains {"code": "sensitive_category", "detail": category} if {
	some raw in input.signal.categories
	is_string(raw)
	category := lower(raw)
	data.targeting.sensitive_categories[category]
}

# The taxonomy may also map topics to categories that are not sensitive, so
# the mapped category is checked against the sensitive list.
reasons contains {"code": "sensitive_category", "detail": category} if {
	some raw in input.signal.topics
	is_string(raw)
	category := data.targeting.topic_categories[lower(raw)]
	data.targeting.sensitive_categories[category]
}
