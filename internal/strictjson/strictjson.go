// Package strictjson decodes request bodies into OPA values in one pass,
// refusing what a decision log cannot store or a server should not accept:
// invalid UTF-8, NUL characters, unpaired surrogates, duplicate keys, and
// nesting or width beyond a bound.
package strictjson

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Limits bounds the shape of a document.
type Limits struct {
	MaxDepth int // containers nested deeper than this are refused
	MaxWidth int // objects or arrays with more members than this are refused
}

// DefaultLimits are the decision API's bounds.
var DefaultLimits = Limits{MaxDepth: 32, MaxWidth: 1000}

// SyntaxError reports why and where a document was refused.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Member is one member of a top-level object: its key, its value, the exact
// bytes of the value and, when the value is an array, the bytes of each element.
type Member struct {
	Key   string
	Value ast.Value
	Raw   []byte
	Elems [][]byte
}

// Parse decodes b as exactly one JSON value. It returns a *SyntaxError when b
// is not acceptable JSON.
func Parse(b []byte, lim Limits) (ast.Value, error) {
	p := parser{b: b, lim: lim}
	v, err := p.document()
	return v, err
}

// ParseObject decodes b as one JSON object and returns its members in order.
// It returns a *SyntaxError when b is not acceptable JSON or not an object.
func ParseObject(b []byte, lim Limits) ([]Member, error) {
	p := parser{b: b, lim: lim, spans: true}
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		if p.i >= len(p.b) {
			return nil, p.fail("empty body: expected a JSON object")
		}
		if _, err := p.document(); err != nil {
			return nil, err
		}
		return nil, &SyntaxError{Offset: 0, Msg: "expected a JSON object"}
	}
	if _, err := p.document(); err != nil {
		return nil, err
	}
	return p.members, nil
}

type parser struct {
	b       []byte
	i       int
	lim     Limits
	spans   bool // record the members of the top-level object
	members []Member
	scratch []byte
}

func (p *parser) fail(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) document() (ast.Value, error) {
	p.skipSpace()
	v, err := p.value(1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return nil, p.fail("unexpected data after the JSON value")
	}
	return v, nil
}

func (p *parser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (ast.Value, error) {
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth, nil)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return ast.String(s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", ast.Boolean(true))
	case c == 'f':
		return p.literal("false", ast.Boolean(false))
	case c == 'n':
		return p.literal("null", ast.NullValue)
	case c == 0:
		return nil, p.fail("NUL character")
	default:
		return nil, p.fail("unexpected character %q", rune(c))
	}
}

func (p *parser) literal(word string, v ast.Value) (ast.Value, error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return nil, p.fail("invalid literal (expected %s)", word)
	}
	p.i += len(word)
	return v, nil
}

func (p *parser) enter(depth int) error {
	if depth > p.lim.MaxDepth {
		return p.fail("nesting deeper than %d", p.lim.MaxDepth)
	}
	return nil
}

func (p *parser) object(depth int) (ast.Value, error) {
	if err := p.enter(depth); err != nil {
		return nil, err
	}
	record := p.spans && depth == 1
	p.i++ // {
	var terms [][2]*ast.Term
	var seen map[string]struct{}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return ast.NewObject(), nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("expected a string key")
		}
		keyAt := p.i
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if len(terms) >= p.lim.MaxWidth {
			return nil, p.fail("object wider than %d members", p.lim.MaxWidth)
		}
		// A linear scan beats a map for the few keys decision inputs have.
		if len(terms) < 16 {
			for _, t := range terms {
				if string(t[0].Value.(ast.String)) == key {
					return nil, &SyntaxError{Offset: keyAt, Msg: fmt.Sprintf("duplicate key %q", key)}
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 32)
				for _, t := range terms {
					seen[string(t[0].Value.(ast.String))] = struct{}{}
				}
			}
			if _, dup := seen[key]; dup {
				return nil, &SyntaxError{Offset: keyAt, Msg: fmt.Sprintf("duplicate key %q", key)}
			}
		}
		if seen != nil {
			seen[key] = struct{}{}
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("expected ':' after an object key")
		}
		p.i++
		p.skipSpace()
		start := p.i
		var elems [][]byte
		var v ast.Value
		if record && p.i < len(p.b) && p.b[p.i] == '[' {
			v, err = p.array(depth+1, &elems)
		} else {
			v, err = p.value(depth + 1)
		}
		if err != nil {
			return nil, err
		}
		if record {
			p.members = append(p.members, Member{Key: key, Value: v, Raw: p.b[start:p.i], Elems: elems})
		}
		terms = append(terms, [2]*ast.Term{ast.StringTerm(key), ast.NewTerm(v)})
		p.skipSpace()
		if p.i >= len(p.b) {
			return nil, p.fail("unexpected end of input in an object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return ast.NewObject(terms...), nil
		default:
			return nil, p.fail("expected ',' or '}' in an object")
		}
	}
}

func (p *parser) array(depth int, elems *[][]byte) (ast.Value, error) {
	if err := p.enter(depth); err != nil {
		return nil, err
	}
	p.i++ // [
	var terms []*ast.Term
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return ast.NewArray(), nil
	}
	for {
		if len(terms) >= p.lim.MaxWidth {
			return nil, p.fail("array wider than %d elements", p.lim.MaxWidth)
		}
		p.skipSpace()
		start := p.i
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if elems != nil {
			*elems = append(*elems, p.b[start:p.i])
		}
		terms = append(terms, ast.NewTerm(v))
		p.skipSpace()
		if p.i >= len(p.b) {
			return nil, p.fail("unexpected end of input in an array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return ast.NewArray(terms...), nil
		default:
			return nil, p.fail("expected ',' or ']' in an array")
		}
	}
}

func (p *parser) number() (ast.Value, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, p.fail("invalid number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("invalid number: digits expected after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number: digits expected in the exponent")
		}
	}
	return ast.Number(p.b[start:p.i]), nil
}

// str decodes a string starting at the opening quote. The fast path returns
// a copy of the bytes when there are no escapes.
func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		case c == '\\':
			return p.strSlow(start)
		case c == 0:
			return "", p.fail("NUL character in a string")
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.fail("invalid UTF-8")
			}
			p.i += n
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) strSlow(start int) (string, error) {
	buf := append(p.scratch[:0], p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			p.scratch = buf
			return string(buf), nil
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", p.fail("unterminated escape")
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xDC00 || p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
						return "", p.fail("unpaired UTF-16 surrogate")
					}
					p.i += 2
					lo, err := p.hex4()
					if err != nil {
						return "", err
					}
					r = utf16.DecodeRune(r, lo)
					if r == utf8.RuneError {
						return "", p.fail("unpaired UTF-16 surrogate")
					}
				}
				if r == 0 {
					return "", p.fail("NUL character (\\u0000) in a string")
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", p.fail("invalid escape \\%c", e)
			}
		case c == 0:
			return "", p.fail("NUL character in a string")
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.fail("invalid UTF-8")
			}
			buf = append(buf, p.b[p.i:p.i+n]...)
			p.i += n
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) hex4() (rune, error) {
	if p.i+4 > len(p.b) {
		return 0, p.fail("truncated \\u escape")
	}
	v, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, p.fail("invalid \\u escape")
	}
	p.i += 4
	return rune(v), nil
}
