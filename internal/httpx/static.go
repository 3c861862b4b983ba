package httpx

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signalgate/signalgate/internal/errs"
)

// uiCSP relaxes the API's policy for the UI's pages only as far as the code
// editor needs: it injects its styles at run time.
const uiCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Static serves a single-page app from fsys: files as they are, and
// index.html for any other GET path, so the app's own routes load it. API
// paths that match no route still get the API's JSON 404.
func Static(fsys fs.FS) gin.HandlerFunc {
	files := http.FileServerFS(fsys)
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) ||
			strings.HasPrefix(p, "/admin/") || strings.HasPrefix(p, "/v1/") {
			WriteError(c, errs.E(errs.NotFound, "no route %s %s", c.Request.Method, p))
			return
		}
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", uiCSP)
		name := strings.TrimPrefix(path.Clean(p), "/")
		if st, err := fs.Stat(fsys, name); name == "" || err != nil || st.IsDir() {
			c.Request.URL.Path = "/" // the app's entry point
		} else if strings.HasPrefix(name, "assets/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable") // content-hashed names
		}
		files.ServeHTTP(c.Writer, c.Request)
	}
}
