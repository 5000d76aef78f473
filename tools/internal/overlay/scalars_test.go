package overlay

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	yv3 "go.yaml.in/yaml/v3"
)

// TestSetScalars edits values across documents and keeps everything else:
// comments, quotes, flow style, the other documents.
func TestSetScalars(t *testing.T) {
	in := "# head\na: one # why\nb: 'two'\n---\nc: {d: three, e: \"four\"}\nf: |\n  block\n"
	dec := yv3.NewDecoder(strings.NewReader(in))
	var nodes []*yv3.Node
	for {
		var doc yv3.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, &doc)
	}
	m0, m1 := nodes[0].Content[0], nodes[1].Content[0]
	c := m1.Content[1]
	got, err := SetScalars([]byte(in), []Scalar{
		{m0.Content[1], "uno"}, {m0.Content[3], "dos"}, {c.Content[1], "1234"}, {c.Content[3], "cuatro"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "# head\na: uno # why\nb: 'dos'\n---\nc: {d: \"1234\", e: \"cuatro\"}\nf: |\n  block\n"
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := SetScalars([]byte(in), []Scalar{{m1.Content[3], "x"}}); err == nil || !strings.Contains(err.Error(), "block scalar") {
		t.Errorf("a block scalar: %v", err)
	}
}
