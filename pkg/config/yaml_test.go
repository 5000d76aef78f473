package config

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// FuzzConvert checks the loader's own YAML decoding against yaml.v3's, which
// it replaces because yaml.v3 is quadratic in the keys of a mapping: where
// yaml.v3 decodes a document of string keys, the converter gives the same
// value, or refuses it for a reason of its own (keys that differ only in
// case, too many alias expansions, a second document).
func FuzzConvert(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: [x, {c: d}]\n",
		"d: &d {p: 1, q: [2]}\ne: {<<: *d, p: 3}\nf: {<<: [*d, {r: 4}]}\n",
		"x: &x [1, 2]\ny: *x\nz: !!str 3\nn: ~\nt: 2001-12-14\nb: !!binary aGVsbG8=\n",
		"k: |\n  multi\n  line\nq: \"a\\tb\"\n",
		"a: {A: 1}\n",
		"x: &x {K: 1}\ny: {<<: *x, k: 2}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		var want any
		if err := yaml.Unmarshal(content, &want); err != nil || !stringKeys(want) {
			return
		}
		wantMap, ok := want.(map[string]any)
		if !ok {
			return
		}
		// yaml.Unmarshal reads the first document and ignores the rest,
		// broken or not; the loader refuses anything after it.
		dec := yaml.NewDecoder(bytes.NewReader(content))
		var first, second yaml.Node
		if dec.Decode(&first) != nil || !errors.Is(dec.Decode(&second), io.EOF) {
			return
		}
		root, err := parse(content)
		if err != nil {
			t.Fatalf("parse: %v; yaml.v3 decodes it", err)
		}
		if root == nil {
			if len(wantMap) != 0 {
				t.Fatalf("no mapping found; yaml.v3 decodes %v", wantMap)
			}
			return
		}
		got, err := newConverter(root).mapping(root, "")
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) && (strings.Contains(ce.Msg, "differ only in case") || strings.Contains(ce.Msg, "YAML bomb")) {
				return
			}
			t.Fatalf("convert: %v; yaml.v3 decodes it", err)
		}
		if caseVariants(wantMap) {
			return // yaml.v3 keeps both; viper would keep either at random
		}
		if diff := cmp.Diff(wantMap, got); diff != "" {
			t.Fatalf("converted (-yaml.v3 +converter):\n%s", diff)
		}
	})
}

// stringKeys reports whether every mapping in v has string keys, as config
// files do; yaml.v3 makes map[any]any of the others, which viper
// stringifies its own way.
func stringKeys(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if !stringKeys(e) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !stringKeys(e) {
				return false
			}
		}
	case map[any]any:
		return false
	}
	return true
}

func caseVariants(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		seen := map[string]bool{}
		for k, e := range v {
			if seen[strings.ToLower(k)] || caseVariants(e) {
				return true
			}
			seen[strings.ToLower(k)] = true
		}
	case []any:
		for _, e := range v {
			if caseVariants(e) {
				return true
			}
		}
	}
	return false
}

// TestProblemLine: the line of a YAML problem is where it starts, which
// yaml.v3's own message gets wrong on line 1 and for parser errors.
func TestProblemLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       int
	}{
		{"unclosed quote on line 1", "a: \"x\n\n\nb: y\n", 1},
		{"unclosed quote later", "a: 1\nb: 'x\nc: 2\n", 2},
		{"unclosed bracket", "a: 1\nb: [x, y\nc: d\n", 2},
		{"bad dedent", "a:\n  b: 1\n c: 2\nd: 4\n", 3},
		{"stray colon", "a: b: c\n", 1},
		{"no newline at the end", "a: 1\nb: [", 2},
		{"valid multi-line values before the problem", "a: [\n  1,\n  2]\nb: \"x\n  y\"\nc: |\n  z\nd:\n  e: 1\n f: 2\n", 10},
		{"problem in a second document", "a: 1\n---\nb: [\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parse([]byte(tt.yaml)); err == nil {
				t.Fatal("parse succeeded")
			}
			if got := problemLine([]byte(tt.yaml)); got != tt.want {
				t.Errorf("problemLine = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestConverterBudget: a file without aliases never runs out of
// the values it may make, however large.
func TestConverterBudget(t *testing.T) {
	var b strings.Builder
	for i := range 200_000 {
		b.WriteString("- ")
		b.WriteString(strings.Repeat("x", i%3+1))
		b.WriteString("\n")
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("k:\n"+indent(b.String())), &root); err != nil {
		t.Fatal(err)
	}
	m, err := newConverter(root.Content[0]).mapping(root.Content[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if got := reflect.ValueOf(m["k"]).Len(); got != 200_000 {
		t.Errorf("converted %d values", got)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
