package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parse reads content as one YAML document and returns its top mapping, or
// nil for a file with no content (empty, comments only, or null).
func parse(content []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, syntaxError(content, err)
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(content, err)
		}
		if len(next.Content) > 0 && !isNull(next.Content[0]) {
			return nil, &Error{Line: next.Content[0].Line, Msg: "a second YAML document (after ---); a config file holds one"}
		}
	}
	root := doc.Content[0]
	switch {
	case isNull(root):
		return nil, nil
	case root.Kind != yaml.MappingNode:
		return nil, &Error{Line: root.Line, Msg: "the file must be a mapping of keys (key: value lines), not " + describe(root)}
	}
	return root, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// isMerge reports whether k is the merge key (<<: *defaults).
func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

// converter turns the node tree into the map viper is given. yaml.v3's own
// decoder does this too, but checks each mapping for duplicate keys pair by
// pair: 100,000 keys took minutes. This does the same in one pass, and also
// refuses keys that differ only in case, which viper would silently merge
// (it lowercases keys).
type converter struct {
	// left is how many more values the file may make: an alias repeats its
	// anchor, so a few lines of nested aliases can expand to billions.
	left int
	// expanding holds the anchors being expanded, to catch an alias inside
	// its own anchor.
	expanding map[*yaml.Node]bool
}

// minMaxValues is the least number of values a file may expand to with its
// aliases; the bound is four times the nodes it holds when that is more.
const minMaxValues = 100_000

func newConverter(root *yaml.Node) *converter {
	return &converter{left: max(4*countNodes(root), minMaxValues), expanding: map[*yaml.Node]bool{}}
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, e := range n.Content {
		c += countNodes(e)
	}
	return c
}

// value converts n, named path in errors (dotted, as written).
func (c *converter) value(n *yaml.Node, path string) (any, error) {
	if c.left--; c.left < 0 {
		return nil, &Error{Line: n.Line, Msg: "aliases (*name) repeat the file's values too often (a YAML bomb?); write the values out"}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &Error{Line: n.Line, Key: path, Msg: fmt.Sprintf("the value is not a valid %s", n.ShortTag()), Err: err}
		}
		return v, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, e := range n.Content {
			v, err := c.value(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.MappingNode:
		return c.mapping(n, path)
	case yaml.AliasNode:
		if c.expanding[n.Alias] {
			return nil, &Error{Line: n.Line, Msg: fmt.Sprintf("alias *%s is inside its own anchor", n.Value)}
		}
		c.expanding[n.Alias] = true
		defer delete(c.expanding, n.Alias)
		return c.value(n.Alias, path)
	}
	return nil, &Error{Line: n.Line, Key: path, Msg: "unexpected YAML node"}
}

func (c *converter) mapping(n *yaml.Node, path string) (map[string]any, error) {
	m := make(map[string]any, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2) // by lowercased key
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, err := keyOf(k)
		if err != nil {
			return nil, err
		}
		lower := strings.ToLower(key)
		if first, dup := seen[lower]; dup {
			return nil, duplicate(path, first, k)
		}
		seen[lower] = k
		if isMerge(k) {
			merges = append(merges, v)
			continue
		}
		val, err := c.value(v, join(path, key))
		if err != nil {
			return nil, err
		}
		m[key] = val
	}
	// Keys written in the mapping win over merged ones, and an earlier
	// merged mapping over a later one, as YAML's merge key defines.
	for _, mv := range merges {
		srcs := []*yaml.Node{mv}
		if mv.Kind == yaml.SequenceNode {
			srcs = mv.Content
		}
		for _, src := range srcs {
			v, err := c.value(src, path)
			if err != nil {
				return nil, err
			}
			mm, ok := v.(map[string]any)
			if !ok {
				return nil, &Error{Line: src.Line, Key: join(path, "<<"), Msg: "merges a mapping (<<: *name) or a list of them, not " + describe(src)}
			}
			for k, v := range mm {
				lower := strings.ToLower(k)
				if _, set := seen[lower]; !set {
					seen[lower] = src
					m[k] = v
				}
			}
		}
	}
	return m, nil
}

func keyOf(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", &Error{Line: k.Line, Msg: "a key must be a word or a string, not " + describe(k)}
	}
	return k.Value, nil
}

func duplicate(path string, first, again *yaml.Node) error {
	if first.Value == again.Value {
		return &Error{Line: again.Line, Key: join(path, again.Value), Msg: fmt.Sprintf("set twice, on lines %d and %d; keep one", first.Line, again.Line)}
	}
	return &Error{Line: again.Line, Msg: fmt.Sprintf("keys %s (line %d) and %s (line %d) differ only in case, and keys ignore case; keep one",
		redactKey(join(path, first.Value)), first.Line, redactKey(join(path, again.Value)), again.Line)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what a node holds, for "want X, got Y" messages. Short
// values are quoted; they passed the secrets scan.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing (null)"
		}
		return quote(n.Value)
	}
	return "nothing"
}

func quote(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("a value of %d characters", len(r))
	}
	return fmt.Sprintf("%q", s)
}

// yamlPrefix is how yaml.v3 starts a parse error; its line number is
// dropped: it is wrong for a problem that starts on line 1 and for parser
// errors (it counts from 0 there), so problemLine finds the line itself.
var yamlPrefix = regexp.MustCompile(`^yaml: (line \d+: )?`)

// hints say in plain words what yaml.v3's most frequent problems mean.
var hints = map[string]string{
	"found unexpected end of stream":                 "a quoted value is never closed",
	"found character that cannot start any token":    "a tab, or another character that cannot start a value; YAML indents with spaces",
	"did not find expected ',' or ']'":               "a [ list is not closed, or lacks a comma",
	"did not find expected ',' or '}'":               "a { mapping is not closed, or lacks a comma",
	"mapping values are not allowed in this context": "a colon inside a value (quote the value) or a key indented too far",
	"did not find expected key":                      "a key is indented less or more than its neighbours",
	"did not find expected '-' indicator":            "a list item is indented less or more than its neighbours",
	"did not find expected node content":             "a value is missing",
}

func syntaxError(content []byte, err error) *Error {
	problem := yamlPrefix.ReplaceAllString(err.Error(), "")
	msg := "not valid YAML: " + problem
	if h, ok := hints[problem]; ok {
		msg = "not valid YAML: " + h + " (" + problem + ")"
	}
	return &Error{Line: problemLine(content), Msg: msg, Err: err}
}

// problemLine returns the line where content's YAML problem starts: the
// line after the longest run of whole lines that parses. That is the line
// of an unclosed quote or bracket, a bad indentation or a stray colon.
// Prefixes that end inside a valid multi-line quoted value or flow list
// fail too, so the search starts from the end: it gallops down to a prefix
// that parses, then bisects, in O(log lines) parses.
func problemLine(content []byte) int {
	starts := []int{0} // starts[i] is where line i+1 starts
	for i, b := range content {
		if b == '\n' && i+1 < len(content) {
			starts = append(starts, i+1)
		}
	}
	n := len(starts) // lines
	starts = append(starts, len(content))
	parses := func(lines int) bool {
		if lines == 0 {
			return true
		}
		dec := yaml.NewDecoder(bytes.NewReader(content[:starts[lines]]))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				return errors.Is(err, io.EOF)
			}
		}
	}
	lo, hi := 0, n // parses(lo) and not parses(hi)
	for d := 1; n-d > 0; d *= 2 {
		if parses(n - d) {
			lo = n - d
			break
		}
		hi = n - d
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if parses(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
