// Package doccheck compiles the Go code samples of the repo's Markdown files
// (README.md, docs/*.md, each bot's README.md), so that a sample a newcomer
// copies is one that builds against today's pkg module.
//
// Each file's ```go blocks form one package main: a block may use what
// another block of the same file declares, and the imports of the packages
// a block names (context, botkit, botkittest…) are added for it, unless it
// writes its own import declarations. A block that starts with a package
// clause is a whole file and stands alone. A block that must not compile is
// marked on the line before its fence, with the reason:
//
//	<!-- not compiled: pseudo-code of the flow -->
//
// Check writes the packages to a temporary module in a workspace with the
// pkg module and runs go vet on it; //line directives make every error
// point at the Markdown file and line.
package doccheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Block is one ```go block of a Markdown file.
type Block struct {
	File string // the Markdown file, slash-separated, relative to the root
	Line int    // the line of its first line of code, from 1
	Code string
}

// skipMarker marks the next block as not compiled, with a reason.
var skipMarker = regexp.MustCompile(`^\s*<!--\s*not compiled(?::\s*(.*?))?\s*-->\s*$`)

// fence opens or closes a fenced code block: up to any indentation (blocks
// sit in list items too), three or more backticks or tildes, an info string.
var fence = regexp.MustCompile("^(\\s*)(```+|~~~+)\\s*([^`\\s]*)")

// Extract returns the Go blocks of the Markdown text md (named name), but
// those marked not compiled. A marker without a reason, or not followed by
// a Go block, and an unclosed fence are errors.
func Extract(name string, md []byte) ([]Block, error) {
	var (
		blocks  []Block
		inBlock bool
		indent  string
		marker  string // the fence that opened the block
		isGo    bool
		skip    bool // the block is marked not compiled
		pending int  // the line of a marker waiting for its block; 0 if none
		cur     Block
		code    strings.Builder
	)
	lines := strings.Split(string(md), "\n")
	for i, l := range lines {
		n := i + 1
		if inBlock {
			if m := fence.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[2], marker) && strings.TrimSpace(l) == strings.TrimSpace(m[2]) {
				inBlock = false
				if isGo && !skip {
					cur.Code = code.String()
					blocks = append(blocks, cur)
				}
				continue
			}
			if isGo {
				code.WriteString(strings.TrimPrefix(l, indent))
				code.WriteByte('\n')
			}
			continue
		}
		if m := skipMarker.FindStringSubmatch(l); m != nil {
			if strings.TrimSpace(m[1]) == "" {
				return nil, fmt.Errorf("%s:%d: say why the block is not compiled: <!-- not compiled: why -->", name, n)
			}
			pending = n
			continue
		}
		m := fence.FindStringSubmatch(l)
		if m == nil {
			if pending != 0 && strings.TrimSpace(l) != "" {
				return nil, fmt.Errorf("%s:%d: a not compiled marker must be right before a ```go block", name, pending)
			}
			continue
		}
		inBlock, indent, marker = true, m[1], m[2]
		isGo = m[3] == "go" || m[3] == "golang"
		if pending != 0 && !isGo {
			return nil, fmt.Errorf("%s:%d: a not compiled marker must be right before a ```go block", name, pending)
		}
		skip, pending = pending != 0, 0
		cur = Block{File: name, Line: n + 1}
		code.Reset()
	}
	if inBlock {
		return nil, fmt.Errorf("%s:%d: code block not closed", name, cur.Line-1)
	}
	if pending != 0 {
		return nil, fmt.Errorf("%s:%d: a not compiled marker must be right before a ```go block", name, pending)
	}
	return blocks, nil
}

// Files lists the Markdown files whose samples are checked: README.md,
// docs/*.md and bots/*/README.md, those that exist.
func Files(fsys fs.FS) ([]string, error) {
	var files []string
	for _, pattern := range []string{"README.md", "docs/*.md", "bots/*/README.md"} {
		m, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	return files, nil
}

// Check compiles the Go blocks of files (read from fsys) against the pkg
// module in pkgDir, with go vet in a temporary workspace. The error holds go
// vet's output, whose positions are the Markdown files' lines.
func Check(ctx context.Context, fsys fs.FS, files []string, pkgDir string) error {
	var blocks []Block
	for _, f := range files {
		md, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		b, err := Extract(f, md)
		if err != nil {
			return err
		}
		blocks = append(blocks, b...)
	}
	if len(blocks) == 0 {
		return nil
	}
	pkgDir, err := filepath.Abs(pkgDir)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "doccheck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	goVersion, err := goLine(filepath.Join(pkgDir, "go.mod"))
	if err != nil {
		return err
	}
	work := fmt.Sprintf("go %s\n\nuse (\n\t./samples\n\t%s\n)\n", goVersion, strconv.Quote(pkgDir))
	gomod := "module doccheck.invalid/samples\n\ngo " + goVersion + "\n"
	if err := os.WriteFile(filepath.Join(tmp, "go.work"), []byte(work), 0o644); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, "samples"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "samples", "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	imports, err := packageNames(ctx, tmp)
	if err != nil {
		return err
	}
	srcs, err := sources(blocks, imports)
	if err != nil {
		return err
	}
	for name, data := range srcs {
		p := filepath.Join(tmp, "samples", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "vet", "./...")
	cmd.Dir = filepath.Join(tmp, "samples")
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(tmp, "go.work"), goFlags())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the code samples do not compile (go vet: %w):\n%s", err, cleanVet(out, tmp, files))
	}
	return nil
}

// cleanVet drops go vet's package headers and the paths of the generated
// files from its output, so that its positions read README.md:12:3.
func cleanVet(out []byte, tmp string, docs []string) string {
	var b strings.Builder
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "# ") {
			continue
		}
		l = strings.ReplaceAll(l, tmp+string(filepath.Separator), "")
		for _, doc := range docs {
			l = strings.ReplaceAll(l, slug(doc)+"/"+doc, doc)
		}
		b.WriteString(strings.TrimPrefix(l, "vet: "))
	}
	return strings.TrimSpace(b.String())
}

// goFlags is GOFLAGS for the go commands Check runs: the caller's (say
// -modcacherw, so that a temporary module cache can be removed), and never
// an edit of a go.mod.
func goFlags() string {
	return "GOFLAGS=" + strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly")
}

var goDirective = regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`)

func goLine(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	m := goDirective.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s has no go directive", gomod)
	}
	return string(m[1]), nil
}

// packageNames maps the name of each importable package of the standard
// library and of the pkg module to its import path, and slack to
// slack-go's; a name two packages share (rand, template) is left out: a
// block that uses one imports it.
func packageNames(ctx context.Context, workDir string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-f", "{{.Name}} {{.ImportPath}}", "std", "github.com/botfleet/botfleet/pkg/...")
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(workDir, "go.work"), goFlags())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	names := map[string]string{}
	shared := map[string]bool{}
	for l := range strings.Lines(string(out)) {
		name, p, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok || name == "main" || slices.Contains(strings.Split(p, "/"), "internal") || strings.HasPrefix(p, "vendor/") {
			continue
		}
		if _, dup := names[name]; dup {
			shared[name] = true
		}
		names[name] = p
	}
	for name := range shared {
		delete(names, name)
	}
	// In a bot's code, slack is slack-go's package (Block Kit, views);
	// botkit's own slack package is the runner's business.
	names["slack"] = "github.com/slack-go/slack"
	return names, nil
}

// sources returns the generated files, by slash path: the blocks of each
// Markdown file in one directory (a whole-file block in its own), each with
// a //line directive to its Markdown line.
func sources(blocks []Block, imports map[string]string) (map[string][]byte, error) {
	fset := token.NewFileSet()
	type parsed struct {
		Block
		file  *ast.File
		whole bool // has its own package clause
	}
	byDoc := map[string][]parsed{}
	for _, b := range blocks {
		whole := startsWith(b.Code, "package")
		src := b.Code
		if !whole {
			src = "package main\n" + b.Code
		}
		f, err := parser.ParseFile(fset, b.File, src, parser.SkipObjectResolution)
		if err != nil {
			line, msg := b.Line, err.Error()
			var list scanner.ErrorList
			if errors.As(err, &list) && len(list) > 0 {
				// The parser counts from the package clause added above.
				line, msg = b.Line+list[0].Pos.Line-1, list[0].Msg
				if !whole {
					line--
				}
			}
			return nil, fmt.Errorf("%s:%d: %s: a ```go block holds Go declarations (wrap statements in a func), or is marked <!-- not compiled: why -->", b.File, line, msg)
		}
		byDoc[b.File] = append(byDoc[b.File], parsed{Block: b, file: f, whole: whole})
	}
	out := map[string][]byte{}
	for doc, ps := range byDoc {
		dir := slug(doc)
		declared := map[string]bool{}
		for _, p := range ps {
			if !p.whole {
				for _, name := range topLevel(p.file) {
					declared[name] = true
				}
			}
		}
		for i, p := range ps {
			directive := fmt.Sprintf("//line %s:%d:1\n", p.File, p.Line)
			if p.whole {
				out[fmt.Sprintf("%s_file%d/sample.go", dir, i+1)] = []byte(directive + p.Code)
				continue
			}
			var b strings.Builder
			b.WriteString("package main\n\n")
			if len(p.file.Imports) == 0 {
				for _, imp := range usedPackages(p.file, imports, declared) {
					fmt.Fprintf(&b, "import %q\n", imp)
				}
			}
			b.WriteString("\n" + directive + p.Code)
			out[fmt.Sprintf("%s/block%d.go", dir, i+1)] = []byte(b.String())
		}
	}
	return out, nil
}

func startsWith(code, keyword string) bool {
	for l := range strings.Lines(code) {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "//") {
			continue
		}
		return strings.HasPrefix(t, keyword+" ")
	}
	return false
}

// slug names a Markdown file's directory: docs/architecture.md is docs_architecture.
func slug(doc string) string {
	s := strings.TrimSuffix(doc, path.Ext(doc))
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// topLevel returns the names a file declares at package level.
func topLevel(f *ast.File) []string {
	var names []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names = append(names, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names = append(names, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// usedPackages returns the import paths of the packages f names as
// pkg.Name, sorted: the names in imports that f neither declares nor binds
// locally, nor another block of its package declares.
func usedPackages(f *ast.File, imports map[string]string, declared map[string]bool) []string {
	local := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						local[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok && n.Tok == token.DEFINE {
					local[id.Name] = true
				}
			}
		}
		return true
	})
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && !local[id.Name] && !declared[id.Name] {
				if p, ok := imports[id.Name]; ok {
					used[p] = true
				}
			}
		}
		return true
	})
	paths := make([]string, 0, len(used))
	for p := range used {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}
