package golden

import (
	"fmt"
	"strings"
)

// context is how many unchanged lines Diff shows around a change.
const context = 3

// maxCells bounds the longest-common-subsequence table; past it Diff
// compares the differing middle line by line, which stays readable for the
// rare huge rewrite.
const maxCells = 4 << 20

// Diff returns a unified-style line diff of want and got: "-" lines only in
// want, "+" lines only in got, a few unchanged lines of context, and
// "@@ line N @@" headers with want's line numbers. Empty when equal.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// Common prefix and suffix keep the table small: goldens change little.
	pre := 0
	for pre < len(w) && pre < len(g) && w[pre] == g[pre] {
		pre++
	}
	suf := 0
	for suf < len(w)-pre && suf < len(g)-pre && w[len(w)-1-suf] == g[len(g)-1-suf] {
		suf++
	}
	ops := make([]op, 0, len(w)+len(g))
	for i := range pre {
		ops = append(ops, op{' ', w[i], i})
	}
	ops = append(ops, middle(w[pre:len(w)-suf], g[pre:len(g)-suf], pre)...)
	for i := len(w) - suf; i < len(w); i++ {
		ops = append(ops, op{' ', w[i], i})
	}
	return render(ops)
}

type op struct {
	kind byte // ' ', '-' or '+'
	line string
	n    int // index in want (for '+', of the next want line)
}

// middle diffs the differing part by longest common subsequence.
func middle(w, g []string, base int) []op {
	var ops []op
	if len(w)*len(g) > maxCells {
		for i := range w {
			ops = append(ops, op{'-', w[i], base + i})
		}
		for i := range g {
			ops = append(ops, op{'+', g[i], base + len(w)})
		}
		return ops
	}
	// lcs[i][j] = length of the LCS of w[i:] and g[j:].
	cols := len(g) + 1
	lcs := make([]int32, (len(w)+1)*cols)
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i*cols+j] = lcs[(i+1)*cols+j+1] + 1
			} else {
				lcs[i*cols+j] = max(lcs[(i+1)*cols+j], lcs[i*cols+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			ops = append(ops, op{' ', w[i], base + i})
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || lcs[(i+1)*cols+j] >= lcs[i*cols+j+1]):
			ops = append(ops, op{'-', w[i], base + i})
			i++
		default:
			ops = append(ops, op{'+', g[j], base + i})
			j++
		}
	}
	return ops
}

// render prints the changed ops with context lines around them.
func render(ops []op) string {
	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind == ' ' {
			continue
		}
		for c := max(0, k-context); c <= min(len(ops)-1, k+context); c++ {
			show[c] = true
		}
	}
	var b strings.Builder
	for k, o := range ops {
		if !show[k] {
			continue
		}
		if k == 0 || !show[k-1] {
			fmt.Fprintf(&b, "@@ line %d @@\n", o.n+1)
		}
		fmt.Fprintf(&b, "%c%s\n", o.kind, o.line)
	}
	return b.String()
}
