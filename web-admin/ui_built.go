//go:build webui

package webadmin

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

func uiFiles() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is part of the binary: a missing one cannot be built
	}
	return sub
}
