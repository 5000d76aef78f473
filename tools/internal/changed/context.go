package changed

import (
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// buildContext is what one bot's `docker build` (context: the repo root)
// takes in: the sources its Dockerfile COPYs or ADDs from the context, minus
// what its dockerignore file leaves out.
type buildContext struct {
	sources []string // slash paths relative to the repo root, cleaned; "." is the whole context
	ignore  []ignorePattern
}

// copySources returns the context paths a Dockerfile's COPY and ADD
// instructions read. COPY --from (another stage or image), heredocs and
// remote ADD sources read nothing from the context. A source with a variable
// cannot be resolved here, so it counts as the whole context (the
// dockerignore still filters it).
func copySources(dockerfile []byte) []string {
	var srcs []string
	for _, inst := range instructions(dockerfile) {
		kw, rest, _ := strings.Cut(inst, " ")
		kw = strings.ToUpper(kw)
		if kw != "COPY" && kw != "ADD" {
			continue
		}
		args, ok := instructionArgs(strings.TrimSpace(rest))
		if !ok || len(args) < 2 {
			continue
		}
		for _, src := range args[:len(args)-1] {
			switch {
			case strings.HasPrefix(src, "<<"):
				continue
			case kw == "ADD" && (strings.Contains(src, "://") || strings.HasPrefix(src, "git@")):
				continue
			case strings.Contains(src, "$"):
				src = "."
			}
			srcs = append(srcs, cleanContextPath(src))
		}
	}
	return srcs
}

// instructionArgs splits a COPY/ADD's arguments, JSON or shell form, without
// its flags; ok is false for a copy from another stage or image.
func instructionArgs(rest string) (args []string, ok bool) {
	fields := strings.Fields(rest)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		if strings.HasPrefix(fields[0], "--from=") || fields[0] == "--from" {
			return nil, false
		}
		fields = fields[1:]
	}
	rest = strings.Join(fields, " ")
	if strings.HasPrefix(rest, "[") {
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			return args, true
		}
	}
	return fields, true
}

// instructions returns a Dockerfile's instructions, each on one line:
// comments dropped, continuation lines joined, heredoc bodies skipped.
func instructions(dockerfile []byte) []string {
	var (
		out     []string
		cur     strings.Builder
		heredoc string // the delimiter of the heredoc being skipped
	)
	for line := range strings.Lines(string(dockerfile)) {
		line = strings.TrimRight(line, "\r\n")
		if heredoc != "" {
			if strings.TrimSpace(line) == heredoc {
				heredoc = ""
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() > 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		inst := strings.TrimSpace(cur.String())
		cur.Reset()
		if inst == "" {
			continue
		}
		out = append(out, inst)
		if i := strings.Index(inst, "<<"); i >= 0 {
			d := strings.Fields(inst[i+2:])
			if len(d) > 0 {
				heredoc = strings.Trim(strings.TrimPrefix(d[0], "-"), `"'`)
			}
		}
	}
	if inst := strings.TrimSpace(cur.String()); inst != "" {
		out = append(out, inst)
	}
	return out
}

// cleanContextPath makes a Dockerfile source or dockerignore pattern a clean
// slash path relative to the context root ("." for the root itself).
func cleanContextPath(p string) string {
	p = path.Clean("/" + strings.ReplaceAll(p, `\`, "/"))
	if p == "/" {
		return "."
	}
	return p[1:]
}

// covers reports whether a COPY source (possibly a glob) includes the file p:
// it names p, or a directory above it.
func covers(src, p string) bool {
	if src == "." {
		return true
	}
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if ok, _ := path.Match(src, p[:i]); ok {
				return true
			}
		}
	}
	return false
}

// ignorePattern is one line of a dockerignore file.
type ignorePattern struct {
	re        *regexp.Regexp
	exclusion bool // a "!" line: lets back in what earlier lines left out
}

// parseIgnore reads a dockerignore file with BuildKit's rules: one pattern
// a line, # comments, ! exceptions, ** for any number of directories; the
// last pattern that matches a path or one of its parent directories decides.
func parseIgnore(data []byte) []ignorePattern {
	var ps []ignorePattern
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var p ignorePattern
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p.exclusion = true
			line = strings.TrimSpace(rest)
		}
		re, err := regexp.Compile(ignoreRegexp(cleanContextPath(line)))
		if err != nil {
			continue // BuildKit rejects it too; it matches nothing here
		}
		p.re = re
		ps = append(ps, p)
	}
	return ps
}

// ignoreRegexp translates a dockerignore pattern as moby's patternmatcher
// does.
func ignoreRegexp(pattern string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					i++
				}
				if i+1 == len(pattern) {
					b.WriteString(".*")
				} else {
					b.WriteString("(.*/)?")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : i+1+end]
			if rest, ok := strings.CutPrefix(class, "!"); ok {
				class = "^" + rest
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// ignored reports whether the dockerignore patterns leave p out.
func ignored(ps []ignorePattern, p string) bool {
	out := false
	for _, pat := range ps {
		if pat.matches(p) {
			out = !pat.exclusion
		}
	}
	return out
}

func (pat ignorePattern) matches(p string) bool {
	if pat.re.MatchString(p) {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && pat.re.MatchString(p[:i]) {
			return true
		}
	}
	return false
}

// includes reports whether p is in the build context the bot's image is
// built from.
func (c *buildContext) includes(p string) bool {
	if ignored(c.ignore, p) {
		return false
	}
	for _, src := range c.sources {
		if covers(src, p) {
			return true
		}
	}
	return false
}
