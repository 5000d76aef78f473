package changed

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchRepo builds a repo of nBots tiny bots, sharing five pkg packages (bot
// i links lib i%5 and lib (i+1)%5), with nCommits commits of history: most
// change one bot, every tenth a pkg package, some docs. Its last commit
// changes one bot; branch gomod changes pkg/go.mod's go line, branch botmods
// a comment in every bot's go.mod, branch bump every bot's requirement of
// pkg.
func benchRepo(b *testing.B, nBots, nCommits int) (repo, root string) {
	b.Helper()
	repo = b.TempDir()
	run(b, repo, nil, "git", "init", "-q", "-b", "main")
	files := map[string]string{
		"pkg/go.mod":    "module " + modPrefix + "/pkg\n\ngo 1.26.0\n",
		"docs/guide.md": "0\n",
	}
	for l := range 5 {
		files[fmt.Sprintf("pkg/lib%d/lib.go", l)] = fmt.Sprintf("package lib%d\n\n// N is a number.\nconst N = 0\n", l)
	}
	for i := range nBots {
		name := fmt.Sprintf("bot%02d", i)
		for k, v := range botFiles(name) {
			files[k] = v
		}
		files["bots/"+name+"/main.go"] = fmt.Sprintf("package main\n\nimport (\n\t%q\n\t%q\n)\n\n// 0\nfunc main() { println(lib%d.N + lib%d.N) }\n",
			fmt.Sprintf("%s/pkg/lib%d", modPrefix, i%5), fmt.Sprintf("%s/pkg/lib%d", modPrefix, (i+1)%5), i%5, (i+1)%5)
	}
	write(b, repo, files)
	root = commitAll(b, repo, "root")
	for k := 1; k < nCommits; k++ {
		var f, body string
		switch {
		case k == nCommits-1:
			f, body = "bots/bot07/main.go", "// last\n"
		case k%10 == 0:
			f, body = fmt.Sprintf("pkg/lib%d/lib.go", k%5), fmt.Sprintf("// %d\n", k)
		case k%7 == 0:
			f, body = "docs/guide.md", fmt.Sprintf("%d\n", k)
		default:
			f, body = fmt.Sprintf("bots/bot%02d/main.go", k%nBots), fmt.Sprintf("// %d\n", k)
		}
		appendFile(b, filepath.Join(repo, f), body)
		run(b, repo, nil, "git", "commit", "-q", "-a", "-m", fmt.Sprint(k))
	}
	run(b, repo, nil, "git", "switch", "-q", "-c", "gomod")
	write(b, repo, map[string]string{"pkg/go.mod": "module " + modPrefix + "/pkg\n\ngo 1.25.0\n"})
	commitAll(b, repo, "go 1.25")
	run(b, repo, nil, "git", "switch", "-q", "-c", "botmods", "main")
	for i := range nBots {
		appendFile(b, filepath.Join(repo, fmt.Sprintf("bots/bot%02d/go.mod", i)), "// tidied\n")
	}
	commitAll(b, repo, "every bot's go.mod")
	run(b, repo, nil, "git", "switch", "-q", "-c", "bump", "main")
	for i := range nBots {
		edit(b, filepath.Join(repo, fmt.Sprintf("bots/bot%02d/go.mod", i)), "/pkg v0.0.0", "/pkg v0.0.1")
	}
	commitAll(b, repo, "every bot requires pkg v0.0.1")
	run(b, repo, nil, "git", "switch", "-q", "main")
	return repo, root
}

func edit(b *testing.B, name, old, new string) {
	b.Helper()
	data := run(b, filepath.Dir(name), nil, "cat", filepath.Base(name))
	write(b, filepath.Dir(name), map[string]string{filepath.Base(name): strings.Replace(data, old, new, 1) + "\n"})
}

func appendFile(b *testing.B, name, s string) {
	b.Helper()
	data := run(b, filepath.Dir(name), nil, "cat", filepath.Base(name))
	write(b, filepath.Dir(name), map[string]string{filepath.Base(name): data + "\n" + s})
}

// BenchmarkBots answers `botctl changed` on 50 bots and 200 commits; each
// answer must come within 5 s.
func BenchmarkBots(b *testing.B) {
	repo, root := benchRepo(b, 50, 200)
	env := []string{"GOPROXY=off", "GOTOOLCHAIN=local"}
	tests := []struct {
		name       string
		base, head string
		want       int
	}{
		{"last commit, one bot", "HEAD~1", "", 1},
		{"whole history, pkg and bots", root, "", 50},
		{"pkg go.mod go line, head extracted", "main", "gomod", 50},
		{"every bot's go.mod, comments only", "main", "botmods", 0},
		{"every bot's go.mod, modules compared", "main", "bump", 50},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				res, err := Bots(b.Context(), Options{Repo: repo, Base: tt.base, Head: tt.head, GoEnv: env})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Bots) != tt.want {
					b.Fatalf("%d bots changed, want %d: %v", len(res.Bots), tt.want, res.Reasons)
				}
			}
			if per := b.Elapsed() / time.Duration(b.N); per > 5*time.Second {
				b.Errorf("%v per answer, want under 5s", per)
			}
		})
	}
}
