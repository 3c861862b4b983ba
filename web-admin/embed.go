// Package webadmin keeps the admin UI: a single-page app built by Vite from
// these sources into dist/, served by signalgate serve at /. Binaries built
// with the webui tag (make build) embed dist/; without it (a plain go build,
// which needs no Node) FS holds a page saying how to build the UI.
package webadmin

import "io/fs"

// FS is the UI's files, index.html at its root.
var FS fs.FS = uiFiles()
