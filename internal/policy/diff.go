package policy

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ModuleDiff is how one module differs between two contents.
type ModuleDiff struct {
	Path    string
	Status  string // added, removed or modified
	Unified string // unified diff, three lines of context
}

// DataChange is one difference in the data document, at a JSON path.
type DataChange struct {
	Path   string // e.g. targeting.rollouts.ai_chat.ads.start, or [3] for array items
	Op     string // added, removed or changed
	Before any
	After  any
}

// Diff compares two contents: modules file by file, data path by path.
func Diff(from, to Content, fromName, toName string) ([]ModuleDiff, []DataChange) {
	var mods []ModuleDiff
	for _, p := range unionKeys(from.Modules, to.Modules) {
		a, inA := from.Modules[p]
		b, inB := to.Modules[p]
		status := "modified"
		switch {
		case !inA:
			status = "added"
		case !inB:
			status = "removed"
		case a == b:
			continue
		}
		mods = append(mods, ModuleDiff{Path: p, Status: status,
			Unified: unified(a, b, fromName+"/"+p, toName+"/"+p)})
	}
	var changes []DataChange
	diffValues("", map[string]any(from.Data), map[string]any(to.Data), &changes)
	return mods, changes
}

func diffValues(path string, a, b any, out *[]DataChange) {
	am, aObj := a.(map[string]any)
	bm, bObj := b.(map[string]any)
	if aObj && bObj {
		for _, k := range unionKeys(am, bm) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			av, inA := am[k]
			bv, inB := bm[k]
			switch {
			case !inA:
				*out = append(*out, DataChange{Path: p, Op: "added", After: bv})
			case !inB:
				*out = append(*out, DataChange{Path: p, Op: "removed", Before: av})
			default:
				diffValues(p, av, bv, out)
			}
		}
		return
	}
	as, aArr := a.([]any)
	bs, bArr := b.([]any)
	if aArr && bArr {
		for i := 0; i < len(as) || i < len(bs); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			switch {
			case i >= len(as):
				*out = append(*out, DataChange{Path: p, Op: "added", After: bs[i]})
			case i >= len(bs):
				*out = append(*out, DataChange{Path: p, Op: "removed", Before: as[i]})
			default:
				diffValues(p, as[i], bs[i], out)
			}
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, DataChange{Path: path, Op: "changed", Before: a, After: b})
	}
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, dup := a[k]; !dup {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// maxDiffCells bounds the line-diff table; larger files are shown as a
// whole replacement rather than slowing the server.
const maxDiffCells = 16_000_000

// unified returns a unified diff of a and b with three lines of context.
func unified(a, b, nameA, nameB string) string {
	x, y := splitLines(a), splitLines(b)
	ops := lineOps(x, y)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-ctx, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*ctx || run == len(ops) {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		aStart, bStart, aLen, bLen := ops[start].a, ops[start].b, 0, 0
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", aStart+1, aLen, bStart+1, bLen)
		for _, op := range ops[start:end] {
			sb.WriteByte(op.kind)
			sb.WriteString(op.line)
			sb.WriteByte('\n')
		}
		i = end
	}
	return sb.String()
}

type lineOp struct {
	kind byte // ' ', '-' or '+'
	line string
	a, b int // line indexes in a and b where the op starts
}

// lineOps aligns x and y on a longest common subsequence of lines.
func lineOps(x, y []string) []lineOp {
	n, m := len(x), len(y)
	if n*m > maxDiffCells {
		var ops []lineOp
		for i, l := range x {
			ops = append(ops, lineOp{'-', l, i, 0})
		}
		for j, l := range y {
			ops = append(ops, lineOp{'+', l, n, j})
		}
		return ops
	}
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []lineOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, lineOp{' ', x[i], i, j})
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, lineOp{'+', y[j], i, j})
			j++
		default:
			ops = append(ops, lineOp{'-', x[i], i, j})
			i++
		}
	}
	return ops
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
