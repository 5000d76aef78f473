// Package overlay reads and sets the image tag of a bot in its Kustomize
// overlays (bots/<bot>/manifests/envs/<env>/kustomization.yaml), as the
// release pipeline does after it pushes an image: images[name=<bot>].newTag.
//
// kyaml finds the node, and only the bytes of that one scalar are rewritten,
// so comments, key order, indentation, flow style and line endings stay as
// they were: re-serialising the document with kyaml would normalise the
// indentation of the whole file and make every tag bump a noisy diff.
package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	yv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Path is the kustomization file of bot's overlay for env, slash-separated
// and relative to the repo root.
func Path(bot, env string) string {
	return path.Join("bots", bot, "manifests", "envs", env, "kustomization.yaml")
}

var tagRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidateTag checks tag against Docker's tag grammar. "latest" is refused:
// Argo CD would never see a new image under an unchanged tag.
func ValidateTag(tag string) error {
	switch {
	case !tagRe.MatchString(tag):
		return fmt.Errorf("tag %q: want 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", tag)
	case tag == "latest":
		return errors.New(`tag "latest": name an image by a tag that never moves, such as the commit`)
	}
	return nil
}

// Tag returns the newTag of the images entry named image; "" when the entry
// has none.
func Tag(data []byte, image string) (string, error) {
	_, tag, err := find(data, image)
	if err != nil {
		return "", err
	}
	if tag == nil {
		return "", nil
	}
	return tag.Value, nil
}

// SetTag returns data with the newTag of the images entry named image set
// to tag, and whether that changed anything. It errs, and returns nothing,
// when data is not a kustomization with exactly one such entry, or the entry
// pins a digest.
func SetTag(data []byte, image, tag string) ([]byte, bool, error) {
	if err := ValidateTag(tag); err != nil {
		return nil, false, err
	}
	entry, old, err := find(data, image)
	if err != nil {
		return nil, false, err
	}
	var out []byte
	if old != nil {
		if old.Value == tag {
			return data, false, nil
		}
		start, end, err := scalarSpan(data, old)
		if err != nil {
			return nil, false, fmt.Errorf("images[%s].newTag: %w", image, err)
		}
		out = splice(data, start, end, quote(tag, old.Style))
	} else {
		out, err = insertTag(data, entry, tag)
		if err != nil {
			return nil, false, fmt.Errorf("images[%s]: %w", image, err)
		}
	}
	// The edit was made on bytes: make sure it says what was meant.
	if got, err := Tag(out, image); err != nil || got != tag {
		return nil, false, fmt.Errorf("images[%s].newTag: the edit did not give %q (got %q, %v); edit the file by hand", image, tag, got, err)
	}
	return out, true, nil
}

// find returns the images entry named image and its newTag value node (nil
// when it has none).
func find(data []byte, image string) (entry, tag *yv3.Node, err error) {
	rn, err := yaml.Parse(string(data))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing: %w", err)
	}
	images := rn.Field("images")
	if images == nil || yaml.IsMissingOrNull(images.Value) {
		return nil, nil, fmt.Errorf("no images: list, so no image %q to set", image)
	}
	elems, err := images.Value.Elements()
	if err != nil {
		return nil, nil, fmt.Errorf("images: %w", err)
	}
	var names []string
	for _, e := range elems {
		n := e.Field("name")
		if n == nil {
			continue
		}
		name := n.Value.YNode().Value
		names = append(names, name)
		if name != image {
			continue
		}
		if entry != nil {
			return nil, nil, fmt.Errorf("images: two entries named %q", image)
		}
		entry = e.YNode()
		if d := e.Field("digest"); d != nil && !yaml.IsMissingOrNull(d.Value) {
			return nil, nil, fmt.Errorf("images[%s] pins a digest; remove it to name the image by tag", image)
		}
		if t := e.Field("newTag"); t != nil {
			tag = t.Value.YNode()
			if tag.Kind != yv3.ScalarNode {
				return nil, nil, fmt.Errorf("images[%s].newTag is not a string", image)
			}
		}
	}
	if entry == nil {
		return nil, nil, fmt.Errorf("images: no entry named %q (the image entry is named after the bot; found %q)", image, names)
	}
	return entry, tag, nil
}

// offset returns the byte offset of a node's 1-based line and column
// (counted in characters, as yaml.v3 does).
func offset(data []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d is past the end", line)
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, fmt.Errorf("column %d of line %d is past its end", col, line)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, nil
}

// scalarSpan returns the byte range of a one-line scalar node in data,
// quotes included.
func scalarSpan(data []byte, n *yv3.Node) (start, end int, err error) {
	start, err = offset(data, n.Line, n.Column)
	if err != nil {
		return 0, 0, err
	}
	rest := data[start:]
	switch {
	case n.Style&yv3.DoubleQuotedStyle != 0:
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '"':
				end = start + i + 1
			case '\n':
				return 0, 0, errors.New("a quoted string over several lines; make it one line")
			}
			if end > 0 {
				break
			}
		}
	case n.Style&yv3.SingleQuotedStyle != 0:
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\n' {
				return 0, 0, errors.New("a quoted string over several lines; make it one line")
			}
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				end = start + i + 1
				break
			}
		}
	case n.Style&(yv3.LiteralStyle|yv3.FoldedStyle) != 0:
		return 0, 0, errors.New("a block scalar (| or >); make it a plain one-line value")
	default:
		// A plain scalar ends at the line's end, a comment, or in flow
		// style at the next flow indicator; a tag has none of these.
		i := 0
		for i < len(rest) && !strings.ContainsRune("\r\n,]}#", rune(rest[i])) {
			i++
		}
		v := strings.TrimRight(string(rest[:i]), " \t")
		if v != n.Value {
			return 0, 0, fmt.Errorf("the plain value %q spans lines or has odd characters; make it one line", n.Value)
		}
		end = start + len(v)
	}
	if end == 0 {
		return 0, 0, errors.New("an unterminated quoted string")
	}
	return start, end, nil
}

func splice(data []byte, start, end int, s string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(s))
	out = append(out, data[:start]...)
	out = append(out, s...)
	return append(out, data[end:]...)
}

// quote writes tag as a YAML scalar: in the old value's quotes, if it had
// any; else plain, unless a YAML 1.1 or 1.2 parser would read it as a number,
// a boolean or null (an all-digit commit prefix like 1234567, 1e10, 0x1F,
// true, no, ...), which Kustomize would then reject or mangle.
func quote(tag string, old yv3.Style) string {
	switch {
	case old&yv3.SingleQuotedStyle != 0:
		return "'" + tag + "'"
	case old&yv3.DoubleQuotedStyle != 0 || needsQuotes(tag):
		return `"` + tag + `"`
	}
	return tag
}

// needsQuotes reports whether tag, written plain, would not read back as a
// string. A valid tag starts with a letter, digit or '_', so every number
// form starts with a digit; the words are YAML 1.1's booleans and null.
func needsQuotes(tag string) bool {
	if tag == "" || (tag[0] >= '0' && tag[0] <= '9') {
		return true
	}
	switch strings.ToLower(tag) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return true
	}
	var n yv3.Node
	if err := yv3.Unmarshal([]byte(tag), &n); err != nil || len(n.Content) != 1 {
		return true
	}
	return n.Content[0].ShortTag() != "!!str"
}

// insertTag adds a newTag field to an images entry that has none, after its
// last field: on a new line with the entry's indentation, or in a flow
// mapping after the last value.
func insertTag(data []byte, entry *yv3.Node, tag string) ([]byte, error) {
	if len(entry.Content) == 0 {
		return nil, errors.New("an empty entry")
	}
	last := entry.Content[len(entry.Content)-1]
	if last.Kind != yv3.ScalarNode {
		return nil, errors.New("the entry's last field is not a plain value; add newTag by hand")
	}
	_, end, err := scalarSpan(data, last)
	if err != nil {
		return nil, err
	}
	field := "newTag: " + quote(tag, 0)
	if entry.Style&yv3.FlowStyle != 0 {
		return splice(data, end, end, ", "+field), nil
	}
	nl := "\n"
	eol := bytes.IndexByte(data[end:], '\n')
	if eol < 0 {
		eol = len(data) - end
		data = append(data[:len(data):len(data)], '\n')
	} else if eol > 0 && data[end+eol-1] == '\r' {
		nl = "\r\n"
	}
	at := end + eol + 1
	indent := strings.Repeat(" ", entry.Content[0].Column-1)
	return splice(data, at, at, indent+field+nl), nil
}
