package overlay

import (
	"cmp"
	"fmt"
	"slices"

	yv3 "go.yaml.in/yaml/v3"
)

// Scalar is a new value for one scalar node of a document parsed from the
// data given to SetScalars (its Line and Column locate it).
type Scalar struct {
	Node  *yv3.Node
	Value string
}

// SetScalars returns data with each node's bytes replaced by its new value,
// and nothing else changed: comments, order, indentation and the other
// values stay as they were, as SetTag does for a tag. A value is written in
// the old one's quotes, or quoted when plain it would not read back as a
// string. It errs, and returns nothing, on a node it cannot edit in place
// (a block scalar, a quoted string over several lines).
func SetScalars(data []byte, edits []Scalar) ([]byte, error) {
	type span struct {
		start, end int
		s          string
	}
	spans := make([]span, 0, len(edits))
	for _, e := range edits {
		if e.Node.Kind != yv3.ScalarNode {
			return nil, fmt.Errorf("line %d: not a plain value", e.Node.Line)
		}
		start, end, err := scalarSpan(data, e.Node)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", e.Node.Line, err)
		}
		spans = append(spans, span{start, end, quote(e.Value, e.Node.Style)})
	}
	// From the end, so earlier offsets stay valid.
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(b.start, a.start) })
	for i, sp := range spans {
		if i > 0 && sp.end > spans[i-1].start {
			return nil, fmt.Errorf("two edits of one value at byte %d", sp.start)
		}
		data = splice(data, sp.start, sp.end, sp.s)
	}
	return data, nil
}
