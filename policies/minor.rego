# Minors are never targeted with ads. Recommending content to them is left to
# the other rules, hence the purpose test rather than a blanket denial.
package signalgate.decision

# Only an explicit `true` counts: the field is optional, and a malformed value
# is denied by validation. Both tests are on input values, so the rule index
# skips this rule for every other input at no cost.
reasons contains {"code": "minor", "detail": "subject.minor"} if {
	input.subject.minor == true
	input.purpose == "ads"
}
