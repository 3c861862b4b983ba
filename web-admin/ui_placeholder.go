//go:build !webui

package webadmin

import (
	"embed"
	"io/fs"
)

//go:embed placeholder
var placeholder embed.FS

func uiFiles() fs.FS {
	sub, _ := fs.Sub(placeholder, "placeholder")
	return sub
}
