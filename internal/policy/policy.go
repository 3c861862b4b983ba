// Package policy keeps policy revisions: their content (modules and data),
// content hashes, identifiers, and the service that loads the active one.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
)

// DataFile is the one data document of a policy folder.
const DataFile = "data.json"

// Content is a policy as admins edit it: module sources by path relative to
// policies/, and the data document.
type Content struct {
	Modules map[string]string
	Data    map[string]any
}

// Revision is an immutable published policy.
type Revision struct {
	Number      int64
	ContentHash string
	Content     Content
	Parent      int64 // 0 when none
	Author      string
	AuthorID    int64 // 0 for the system
	Message     string
	CreatedAt   time.Time
}

// ID is the revision's identifier everywhere: "r<N>".
func (r Revision) ID() string { return FormatID(r.Number) }

// FormatID formats a revision number as its identifier.
func FormatID(n int64) string { return "r" + strconv.FormatInt(n, 10) }

// ParseID parses an identifier "r<N>". It returns an errs.Invalid error for
// anything else.
func ParseID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "r"), 10, 64)
	if !strings.HasPrefix(id, "r") || err != nil || n <= 0 {
		return 0, errs.E(errs.Invalid, "revision %q is not of the form r<N>", id)
	}
	return n, nil
}

// EngineContent converts c for compiling.
func (c Content) EngineContent() engine.Content {
	return engine.Content{Modules: c.Modules, Data: c.Data}
}

// CanonicalData encodes the data document with sorted keys, no spaces and no
// HTML escaping, so equal documents encode to equal bytes.
func CanonicalData(data map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if data == nil {
		data = map[string]any{}
	}
	if err := enc.Encode(data); err != nil {
		return nil, fmt.Errorf("encode data: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ContentHash is "sha256:<hex>" over the canonical encoding of c: for each
// module in path order "module <path> <length>\n<exact bytes>\n", then
// "data <length>\n<canonical data>". Lengths make the encoding unambiguous.
func ContentHash(c Content) (string, error) {
	data, err := CanonicalData(c.Data)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	paths := make([]string, 0, len(c.Modules))
	for p := range c.Modules {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(h, "module %s %d\n%s\n", p, len(c.Modules[p]), c.Modules[p])
	}
	fmt.Fprintf(h, "data %d\n", len(data))
	h.Write(data)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// DecodeData decodes a data document, keeping numbers exactly as written.
// It returns an errs.Invalid error when it is not a JSON object.
func DecodeData(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "data.json is not a JSON object")
	}
	if dec.More() {
		return nil, errs.E(errs.Invalid, "data.json holds more than one JSON value")
	}
	if data == nil {
		return nil, errs.E(errs.Invalid, "data.json is not a JSON object")
	}
	return data, nil
}

// LoadFS reads a policy folder as stock OPA would: every .rego file (module
// path relative to the folder) and data.json at its root. Other data files
// are refused, since stock OPA would load them and signalgate would not.
func LoadFS(fsys fs.FS) (Content, error) {
	c := Content{Modules: map[string]string{}, Data: map[string]any{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch ext := path.Ext(p); {
		case ext == ".rego":
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			c.Modules[p] = string(b)
		case p == DataFile:
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			data, err := DecodeData(b)
			if err != nil {
				return err
			}
			c.Data = data
		case ext == ".json" || ext == ".yaml" || ext == ".yml":
			return errs.E(errs.Invalid, "%s: only one data document, %s at the folder's root, is allowed", p, DataFile)
		}
		return nil
	})
	if err != nil {
		return Content{}, fmt.Errorf("load policy folder: %w", err)
	}
	if len(c.Modules) == 0 {
		return Content{}, errs.E(errs.Invalid, "the policy folder holds no .rego file")
	}
	return c, nil
}

// Draft is the working copy admins edit before publishing.
type Draft struct {
	Content     Content
	ContentHash string
	UpdatedAt   time.Time
	UpdatedBy   string // empty when the draft is the active revision, unsaved
}

// TopicCategories returns the taxonomy of the data document: topic slugs
// (lowercase) mapped to the category each belongs to, from
// data.targeting.topic_categories; empty when the data has none.
func (c Content) TopicCategories() map[string]string {
	out := map[string]string{}
	targeting, _ := c.Data["targeting"].(map[string]any)
	topics, _ := targeting["topic_categories"].(map[string]any)
	for topic, cat := range topics {
		if s, ok := cat.(string); ok {
			out[strings.ToLower(topic)] = s
		}
	}
	return out
}
