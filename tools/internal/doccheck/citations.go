package doccheck

import (
	"regexp"
	"strings"
)

// Citation is a reference to a section of a Markdown file, as the repo
// writes them: manifests/README.md, "Each new bot, once".
type Citation struct {
	Line    int    // in the citing file, from 1
	Target  string // the Markdown file, as written
	Section string // the heading's text
}

var citation = regexp.MustCompile(`([\w./-]+\.md)(?:#[\w-]+)?\)?,? "([^"]+)"`)

// Citations returns the section citations in text.
func Citations(text []byte) []Citation {
	var cs []Citation
	line := 0
	for l := range strings.Lines(string(text)) {
		line++
		for _, m := range citation.FindAllStringSubmatch(l, -1) {
			cs = append(cs, Citation{Line: line, Target: m[1], Section: m[2]})
		}
	}
	return cs
}

var (
	heading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	// A numbered or bulleted step that starts in bold is cited like a
	// heading: manifests/README.md, "IRSA".
	boldStep = regexp.MustCompile(`^\s*(?:\d+\.|[-*])\s+\*\*(.+?)\.?\*\*`)
)

// Headings returns the text of a Markdown file's headings and of the steps
// that start in bold (outside code blocks), without their marks.
func Headings(md []byte) []string {
	var hs []string
	inCode := false
	for l := range strings.Lines(string(md)) {
		if fence.MatchString(l) {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		if m := heading.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			hs = append(hs, m[1])
		} else if m := boldStep.FindStringSubmatch(l); m != nil {
			hs = append(hs, m[1])
		}
	}
	return hs
}
