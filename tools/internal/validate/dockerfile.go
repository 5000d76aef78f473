package validate

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// DockerfileName is a bot's Dockerfile, in its directory; the build context
// is the repo root.
const DockerfileName = "Dockerfile"

// checkDockerfiles lints the Dockerfile of each bot of the run.
func (r *run) checkDockerfiles() {
	for _, bot := range r.bots {
		rel := path.Join(BotsDir, bot, DockerfileName)
		data, err := r.v.FS.ReadFile(r.abs(rel))
		if err != nil {
			if !r.v.FS.Exists(r.abs(rel)) {
				r.addProblem(Problem{Path: rel, Msg: "missing: every bot's image is built from its Dockerfile (the release pipeline and make image-test build it)"})
				continue
			}
			r.addProblem(Problem{Path: rel, Msg: fmt.Sprintf("reading: %v", err)})
			continue
		}
		r.problems = append(r.problems, LintDockerfile(rel, data)...)
	}
}

// The image contract's values (docs/architecture.md, "Cluster contract", images).
const (
	// ImageUser is the final stage's USER: numeric, so that the kubelet
	// can check runAsNonRoot, and the pods' runAsUser.
	ImageUser = "65532:65532"
)

// LintDockerfile checks a bot's Dockerfile, offline: BuildKit's parser and
// those of its lint rules that need neither the base images nor the build
// context, then the repo's rules (a multi-stage build; every base an earlier
// stage or an image named by tag on its FROM line, the one form Dependabot
// reads; no ADD of a URL; a numeric non-root USER in the final stage). name
// is the file's path in the problems, each with its line. A
// `# check=skip=<rules>` directive skips BuildKit's rules as it does in a
// build. It is safe for concurrent use.
func LintDockerfile(name string, data []byte) []Problem {
	var out []Problem
	add := func(line int, format string, args ...any) {
		out = append(out, Problem{Path: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		add(errLine(err), "parse: %v", err)
		return out
	}
	check, _, _, _ := parser.ParseDirective("check", data)
	cfg, err := linter.ParseLintOptions(check)
	if err != nil {
		add(1, "check directive: %v", err)
		cfg = &linter.Config{}
	}
	cfg.Warn = func(rule, _, _, msg string, loc []parser.Range) {
		add(rangeLine(loc), "%s: %s", rule, msg)
	}
	lint := linter.New(cfg)
	for _, w := range res.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}

	// instructions.Parse, one node at a time, to know each error's line.
	var (
		stages   []instructions.Stage
		metaArgs []*instructions.ArgCommand
	)
	for _, n := range res.AST.Children {
		cmd, err := instructions.ParseInstructionWithLinter(n, lint)
		if err != nil {
			add(n.StartLine, "%v", err)
			return sortByLine(out)
		}
		switch c := cmd.(type) {
		case *instructions.Stage:
			stages = append(stages, *c)
		case *instructions.ArgCommand:
			if len(stages) == 0 {
				metaArgs = append(metaArgs, c)
				continue
			}
			stages[len(stages)-1].AddCommand(c)
		case instructions.Command:
			if len(stages) == 0 {
				add(n.StartLine, "%s before the first FROM: only ARG may come before it", c.Name())
				return sortByLine(out)
			}
			stages[len(stages)-1].AddCommand(c)
		}
	}
	if len(stages) == 0 {
		add(1, "no FROM: nothing to build")
		return sortByLine(out)
	}
	lintLikeBuildKit(stages, metaArgs, lint)

	// The repo's rules.
	final := stages[len(stages)-1]
	if len(stages) < 2 {
		add(stageLine(final), "one stage: build in a stage of its own and copy only the binary into the final one (no compiler or sources in the image)")
	}
	args := map[string]*instructions.ArgCommand{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			args[kv.Key] = a
		}
	}
	lines := strings.Split(string(data), "\n")
	seen := map[string]bool{"scratch": true} // earlier stages, by name
	for _, st := range stages {
		checkBase(add, st, seen, args, lines)
		if st.Name != "" {
			seen[strings.ToLower(st.Name)] = true
		}
		for _, c := range st.Commands {
			if a, ok := c.(*instructions.AddCommand); ok {
				for _, src := range a.SourcePaths {
					if isURL(src) {
						add(cmdLine(c), "ADD %s: a URL's content is neither pinned nor checked; download it in a RUN that verifies its checksum", src)
					}
				}
			}
		}
	}
	checkUser(add, final)
	return sortByLine(out)
}

// varRef matches a base that is exactly one variable: $X or ${X}.
var varRef = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)

// checkBase checks that st's base is an earlier stage, scratch, or an image
// named by a tag on the FROM line itself, in the form Dependabot's docker
// ecosystem reads: it matches each line against `FROM [--platform=P]
// image[:tag][@digest] [AS name]` and expands no ARG (dependabot-core#2057),
// so a base behind a variable is never updated. Tests substitute local
// stand-ins for the literal names (make image-test: buildah's
// --build-context NAME=container-image://...), so no ARG is needed for them.
// lines are the file's lines, as Dependabot sees them.
func checkBase(add func(int, string, ...any), st instructions.Stage, stages map[string]bool, args map[string]*instructions.ArgCommand, lines []string) {
	base := st.BaseName
	if stages[strings.ToLower(base)] {
		return
	}
	line := stageLine(st)
	if strings.Contains(base, "$") {
		want := "the image and its tag, e.g. FROM golang:1.26"
		if m := varRef.FindStringSubmatch(base); m != nil {
			if def := argDefault(args[m[1]+m[2]], m[1]+m[2]); def != "" && !strings.Contains(def, "$") {
				want = "FROM " + def
			}
		}
		add(line, "FROM %s: Dependabot does not expand ARGs (dependabot-core#2057) and never updates this base; write %s (make image-test substitutes its stand-ins for literal names)", base, want)
		return
	}
	if _, tag, _ := splitImage(base); tag == "" || tag == "latest" {
		add(line, "FROM %s: name the base by a tag that Dependabot bumps (e.g. golang:1.26), not %q", base, cmpOr(tag, "none"))
	}
	if line < 1 || line > len(lines) || !dependabotFrom(lines[line-1], base) {
		add(line, "FROM %s: write the base on the FROM line itself, at the line's start (FROM [--platform=P] %s [AS name]): Dependabot reads each line alone and no other form", base, base)
	}
}

// fromLine is the start of a FROM line as Dependabot reads it (its
// FileParser::FROM_LINE): FROM at the line's start, an optional
// --platform=P, then the base.
var fromLine = regexp.MustCompile(`(?i)^FROM\s+(?:--platform=\S+\s+)?(\S+)`)

// dependabotFrom reports whether line, as written, is a FROM line whose base
// Dependabot reads as base.
func dependabotFrom(line, base string) bool {
	m := fromLine.FindStringSubmatch(line)
	return m != nil && m[1] == base
}

// argDefault is the default a's declares for key, or "".
func argDefault(a *instructions.ArgCommand, key string) string {
	if a == nil {
		return ""
	}
	for _, kv := range a.Args {
		if kv.Key == key && kv.Value != nil {
			return *kv.Value
		}
	}
	return ""
}

// checkUser checks that the final stage runs as the numeric non-root user.
func checkUser(add func(int, string, ...any), final instructions.Stage) {
	var user *instructions.UserCommand
	for _, c := range final.Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u
		}
	}
	if user == nil {
		add(stageLine(final), "the final stage sets no USER: want USER %s (numeric, so that Kubernetes can check runAsNonRoot)", ImageUser)
		return
	}
	want := strings.Split(ImageUser, ":")
	ids := strings.SplitN(user.User, ":", 2)
	for i, id := range ids {
		n, err := strconv.Atoi(id)
		switch {
		case err != nil:
			add(cmdLine(user), "USER %s is not numeric: Kubernetes checks runAsNonRoot only on a numeric user; want USER %s", user.User, ImageUser)
			return
		case n == 0:
			add(cmdLine(user), "USER %s runs as root: want USER %s", user.User, ImageUser)
			return
		case id != want[i]:
			add(cmdLine(user), "USER %s: want USER %s, the pods' runAsUser and the EFS access point's POSIX user", user.User, ImageUser)
			return
		}
	}
}

// secretKey and notSecretKey are BuildKit's SecretsUsedInArgOrEnv patterns.
var (
	secretKey    = regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	notSecretKey = regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
)

// lintLikeBuildKit runs the lint rules that BuildKit runs while it converts
// a Dockerfile to LLB and that need neither the base images nor the build
// context, as BuildKit v0.28 words and places them. UndefinedArgInFrom and
// InvalidDefaultArgInFrom are left to checkBase, which allows no variable in
// a base at all.
func lintLikeBuildKit(stages []instructions.Stage, metaArgs []*instructions.ArgCommand, lint *linter.Linter) {
	secrets := func(instruction, key string, loc []parser.Range) {
		if secretKey.MatchString(key) && !notSecretKey.MatchString(key) {
			lint.Run(&linter.RuleSecretsUsedInArgOrEnv, loc, linter.RuleSecretsUsedInArgOrEnv.Format(instruction, key))
		}
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			secrets("ARG", kv.Key, a.Location())
		}
	}

	// ConsistentInstructionCasing: each instruction in one case, the
	// majority's.
	var lower, upper int
	names := func(f func(name string, loc []parser.Range)) {
		for _, st := range stages {
			f(st.OrigCmd, st.Location)
			for _, c := range st.Commands {
				f(c.Name(), c.Location())
			}
		}
	}
	names(func(name string, _ []parser.Range) {
		switch name {
		case strings.ToLower(name):
			lower++
		case strings.ToUpper(name):
			upper++
		}
	})
	names(func(name string, loc []parser.Range) {
		want := "uppercase"
		if lower > upper {
			want = "lowercase"
		}
		if want == "lowercase" && name != strings.ToLower(name) || want == "uppercase" && name != strings.ToUpper(name) {
			lint.Run(&linter.RuleConsistentInstructionCasing, loc, linter.RuleConsistentInstructionCasing.Format(name, want))
		}
	})

	named := map[string]bool{}
	for _, st := range stages {
		if st.Name != "" {
			if st.Name == "context" || st.Name == "scratch" {
				lint.Run(&linter.RuleReservedStageName, st.Location, linter.RuleReservedStageName.Format(st.Name))
			}
			if named[st.Name] {
				lint.Run(&linter.RuleDuplicateStageName, st.Location, linter.RuleDuplicateStageName.Format(st.Name))
			}
			named[st.Name] = true
		}
		var shell, workdir bool
		once := map[string][]parser.Range{}
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.ShellCommand:
				shell = true
			case *instructions.WorkdirCommand:
				// Only the first: fixing it fixes the rest.
				if !workdir && !path.IsAbs(c.Path) {
					lint.Run(&linter.RuleWorkdirRelativePath, c.Location(), linter.RuleWorkdirRelativePath.Format(c.Path))
				}
				workdir = true
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if kv.NoDelim {
						lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
					}
					secrets("ENV", kv.Key, c.Location())
				}
			case *instructions.LabelCommand:
				for _, kv := range c.Labels {
					if kv.NoDelim {
						lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
					}
				}
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					secrets("ARG", kv.Key, c.Location())
				}
			case *instructions.CmdCommand:
				if c.PrependShell && !shell {
					lint.Run(&linter.RuleJSONArgsRecommended, c.Location(), linter.RuleJSONArgsRecommended.Format(c.Name()))
				}
			case *instructions.EntrypointCommand:
				if c.PrependShell && !shell {
					lint.Run(&linter.RuleJSONArgsRecommended, c.Location(), linter.RuleJSONArgsRecommended.Format(c.Name()))
				}
			}
			// MultipleInstructionsDisallowed, at the one that has no effect.
			if n := strings.ToUpper(c.Name()); n == "CMD" || n == "ENTRYPOINT" || n == "HEALTHCHECK" {
				if prev, ok := once[n]; ok {
					lint.Run(&linter.RuleMultipleInstructionsDisallowed, prev, linter.RuleMultipleInstructionsDisallowed.Format(c.Name()))
				}
				once[n] = c.Location()
			}
		}
	}
}

func isURL(src string) bool {
	return strings.Contains(src, "://") || strings.HasPrefix(src, "git@")
}

func rangeLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func cmdLine(c instructions.Command) int { return rangeLine(c.Location()) }

func stageLine(st instructions.Stage) int { return rangeLine(st.Location) }

// errLine is the line a parse error names, or 0.
func errLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 {
		return rangeLine(le.Locations[0])
	}
	return 0
}

func sortByLine(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return ps
}
