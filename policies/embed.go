// Package policies holds signalgate's default Rego policy, its tests and its data document.
package policies

import "embed"

// FS holds the default policy: every .rego module (tests included) and data.json.
//
//go:embed *.rego data.json
var FS embed.FS
