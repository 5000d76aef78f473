package scaffold

import (
	"bytes"
	"errors"
	"path"
	"strconv"
	"strings"
)

// AddUse returns the go.work src with the module directory dir (like
// "./bots/hello") added to its use directives, and whether that changed it.
// In a `use (...)` block the line goes before the first entry that sorts
// after it, so a sorted block stays sorted and no other line moves; without
// a block, it follows the last single-line use. Comments are kept.
func AddUse(src []byte, dir string) ([]byte, bool, error) {
	want := path.Clean(dir)
	lines := strings.SplitAfter(string(src), "\n")
	var (
		blockStart, blockEnd = -1, -1
		lastUse              = -1
		insertAt             = -1
	)
	for i, line := range lines {
		t := strings.TrimSpace(stripComment(line))
		switch {
		case blockStart >= 0 && blockEnd < 0:
			if t == ")" {
				blockEnd = i
				continue
			}
			if t == "" {
				continue
			}
			if usePath(t) == want {
				return src, false, nil
			}
			if insertAt < 0 && usePath(t) > want {
				insertAt = i
			}
		case t == "use (":
			if blockStart >= 0 {
				continue // a second block: the first one takes the line
			}
			blockStart = i
		case strings.HasPrefix(t, "use ") || strings.HasPrefix(t, "use\t"):
			if usePath(strings.TrimSpace(t[len("use"):])) == want {
				return src, false, nil
			}
			lastUse = i
		}
	}
	if blockStart >= 0 && blockEnd < 0 {
		return nil, false, errors.New("a use block is not closed")
	}
	var out bytes.Buffer
	insert := func(at int, text string) {
		for i, line := range lines {
			if i == at {
				out.WriteString(text)
			}
			out.WriteString(line)
		}
		if at == len(lines) {
			out.WriteString(text)
		}
	}
	switch {
	case blockStart >= 0:
		if insertAt < 0 {
			insertAt = blockEnd
		}
		insert(insertAt, "\t"+dir+"\n")
	case lastUse >= 0:
		insert(lastUse+1, "use "+dir+"\n")
	default:
		if len(src) > 0 && !bytes.HasSuffix(src, []byte("\n")) {
			lines[len(lines)-1] += "\n"
		}
		insert(len(lines), "\nuse "+dir+"\n")
	}
	return out.Bytes(), true, nil
}

func stripComment(line string) string {
	if i := strings.Index(line, "//"); i >= 0 {
		return line[:i]
	}
	return line
}

// usePath is the cleaned directory of a use entry, quoted or not.
func usePath(entry string) string {
	if u, err := strconv.Unquote(entry); err == nil {
		entry = u
	}
	return path.Clean(entry)
}
