package overlay

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/golden"
)

func TestSetTagGolden(t *testing.T) {
	tests := []struct {
		name, input, tag string
	}{
		{"hello-dev", "hello-dev.yaml", "3f2a1bc"},
		{"hello-dev-digits", "hello-dev.yaml", "1234567"},
		{"comments-4space", "comments-4space.yaml", "v1.3.0"},
		{"comments-4space-float", "comments-4space.yaml", "1e10"},
		{"flow-hex", "flow.yaml", "0x1F"},
		{"flow-bool", "flow.yaml", "true"},
		{"flow-entries-single-quotes", "flow-entries.yaml", "1.0"},
		{"no-tag", "no-tag.yaml", "abc1234"},
		{"no-tag-number", "no-tag.yaml", "1234567"},
		{"no-tag-flow", "no-tag-flow.yaml", "abc1234"},
		{"crlf", "crlf.yaml", "new"},
		{"crlf-no-tag", "crlf-no-tag.yaml", "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.input))
			if err != nil {
				t.Fatal(err)
			}
			got, changed, err := SetTag(in, "hello", tt.tag)
			if err != nil {
				t.Fatal(err)
			}
			if !changed {
				t.Error("changed = false")
			}
			golden.Check(t, filepath.Join("testdata", tt.name+".golden"), got)
			// Only the tag's line differs (or one line is added).
			if d := changedLines(in, got); d != 1 {
				t.Errorf("%d lines differ from the input, want 1", d)
			}
			if tag, err := Tag(got, "hello"); err != nil || tag != tt.tag {
				t.Errorf("Tag = %q, %v; want %q", tag, err, tt.tag)
			}
			again, changed, err := SetTag(got, "hello", tt.tag)
			if err != nil || changed || !bytes.Equal(again, got) {
				t.Errorf("second SetTag: changed %v, err %v, same bytes %v", changed, err, bytes.Equal(again, got))
			}
		})
	}
}

// changedLines counts the lines b changes or adds to a: -1 when b is more
// than a with lines changed in place or one line added.
func changedLines(a, b []byte) int {
	al, bl := strings.SplitAfter(string(a), "\n"), strings.SplitAfter(string(b), "\n")
	switch len(bl) - len(al) {
	case 0:
		n := 0
		for i := range al {
			if al[i] != bl[i] {
				n++
			}
		}
		return n
	case 1:
		for k := range bl {
			if slices.Equal(al, slices.Delete(slices.Clone(bl), k, k+1)) {
				return 1
			}
		}
	}
	return -1
}

func TestSetTagErrors(t *testing.T) {
	tests := []struct {
		name, yaml, image, tag, want string
	}{
		{"no images", "kind: Kustomization\n", "hello", "v1", `no images: list, so no image "hello" to set`},
		{"no entry", "images:\n- name: other\n  newTag: v1\n", "hello", "v1", `images: no entry named "hello" (the image entry is named after the bot; found ["other"])`},
		{"two entries", "images:\n- name: hello\n- name: hello\n", "hello", "v1", `images: two entries named "hello"`},
		{"digest", "images:\n- name: hello\n  digest: sha256:abc\n", "hello", "v1", "images[hello] pins a digest"},
		{"block scalar", "images:\n- name: hello\n  newTag: |\n    v1\n", "hello", "v2", "a block scalar"},
		{"not yaml", "images: [\n", "hello", "v1", "parsing"},
		{"latest", "images:\n- name: hello\n", "hello", "latest", `tag "latest"`},
		{"bad tag", "images:\n- name: hello\n", "hello", "-x", `tag "-x": want`},
		{"long tag", "images:\n- name: hello\n", "hello", strings.Repeat("a", 129), "want 1 to 128"},
		{"tag with colon", "images:\n- name: hello\n", "hello", "a:b", `tag "a:b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := SetTag([]byte(tt.yaml), tt.image, tt.tag)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if out != nil || changed {
				t.Errorf("returned %q, changed %v with an error", out, changed)
			}
		})
	}
}

func TestNeedsQuotes(t *testing.T) {
	tests := map[string]bool{
		"1234567": true, "1e10": true, "0x1F": true, "1.0": true, "0o17": true, "1_000": true, "017": true,
		"true": true, "True": true, "FALSE": true, "yes": true, "on": true, "No": true, "null": true, "y": true,
		"abc1234": false, "v1.0": false, "sha-1234": false, "_x": false, "e10": false, "deadbeef": false, "nan": false,
	}
	for tag, want := range tests {
		if got := needsQuotes(tag); got != want {
			t.Errorf("needsQuotes(%q) = %v, want %v", tag, got, want)
		}
	}
}
