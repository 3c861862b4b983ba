# The default targeting decision: may this signal about this subject be used
# for this purpose? Each concern adds its objections to the one `reasons` set
# from its own file, and a decision is allowed only when nobody objected.
#
# The checks on the input itself and on the rollout it names live in package
# signalgate.admission, which also holds their helper rules, so that this
# package's document is exactly the decision {"allow", "reasons"} for
# whoever reads it whole (OPA's Data API, decision logs).
#
# The rules count on OPA's default handling of builtin errors: a timestamp
# that does not parse, or a regex or concat applied to a value of the wrong
# type, leaves that expression undefined instead of failing the evaluation,
# so the field is reported as invalid input.
package signalgate.decision

import data.signalgate.admission

# Fail closed: should `reasons` ever fail to evaluate, nothing is allowed.
default allow := false

allow if count(reasons) == 0

# Almost every input is well formed and names a live rollout. Checking that
# in one positive rule body (admission.admissible) costs a fraction of
# running every exact validation and rollout rule, so those only run when
# the quick check fails, and they alone decide which of their reasons apply.
reasons contains reason if {
	not admission.admissible
	some reason in admission.reasons
}
