// Package migrations holds signalgate's versioned SQL schema, applied in order
// by goose under an advisory lock.
package migrations

import "embed"

// FS holds every migration, named NNNN_name.sql with goose Up and Down sections.
//
//go:embed *.sql
var FS embed.FS
