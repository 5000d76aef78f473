package changed

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCopySources(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		want             []string
	}{
		{"shell form, continuation, comment", "FROM x AS b\n# COPY no/ no/\nCOPY pkg/ pkg/\ncopy --chown=1:1 \\\n  ./bots/a/ \\\n  bots/a/\n", []string{"pkg", "bots/a"}},
		{"several sources, glob", "COPY a.txt b/*.yaml /dst/\n", []string{"a.txt", "b/*.yaml"}},
		{"json form", `COPY ["docs/x y.md", "/x"]` + "\n", []string{"docs/x y.md"}},
		{"other stage and image", "COPY --from=build /out/a /a\nCOPY --from build /b /b\n", nil},
		{"remote ADD", "ADD https://example.com/x.tgz /x\nADD git@github.com:a/b.git /b\nADD local.tgz /l\n", []string{"local.tgz"}},
		{"variable", "ARG D=bots/a\nCOPY ${D}/ /src/\n", []string{"."}},
		{"heredoc", "COPY <<EOF /etc/x\nCOPY not/this /\nEOF\nCOPY yes /\n", []string{"yes"}},
		{"the whole context", "COPY . /src\n", []string{"."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, copySources([]byte(tt.dockerfile))); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildContextIncludes(t *testing.T) {
	c := buildContext{
		sources: []string{"pkg", "bots/a", "docs/*.md"},
		ignore: parseIgnore([]byte(`# the real bots' rules
*
!pkg/
!bots/a/
!docs
**/*_test.go
**/testdata/
**/*.md
!docs/*.md
bots/a/manifests/
bots/a/Dockerfile*
/pkg/gen[!x]/
`)),
	}
	tests := []struct {
		path string
		want bool
	}{
		{"pkg/botkit/bot.go", true},
		{"pkg/botkit/bot_test.go", false},
		{"pkg/botkit/testdata/golden.txt", false},
		{"pkg/README.md", false},
		{"pkg/geny/x.go", false},
		{"pkg/genx/x.go", true},
		{"bots/a/main.go", true},
		{"bots/a/config/local.yaml", true},
		{"bots/a/manifests/base/kustomization.yaml", false},
		{"bots/a/Dockerfile", false},
		{"bots/b/main.go", false},
		{"docs/guide.md", true},
		{"docs/sub/guide.md", false},
		{"README.md", false},
		{"go.work", false},
	}
	for _, tt := range tests {
		if got := c.includes(tt.path); got != tt.want {
			t.Errorf("includes(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestCompareSemver(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"v1.0.0", "v1.0.0", 0},
		{"v1.0.1", "v1.0.0", 1},
		{"v1.10.0", "v1.9.9", 1},
		{"v2.0.0+incompatible", "v1.9.0", 1},
		{"v1.0.0-rc.1", "v1.0.0", -1},
		{"v1.0.0-rc.2", "v1.0.0-rc.10", -1},
		{"v1.0.0-alpha", "v1.0.0-1", 1},
		{"v1.0.0-alpha", "v1.0.0-alpha.1", -1},
		{"v0.0.0-20250730193827-2d320260d730", "v0.0.0-20191010083416-a7dc8b61c822", 1},
		{"v1.2.4-0.20240101000000-abcdefabcdef", "v1.2.3", 1},
	}
	for _, tt := range tests {
		if got := compareSemver(tt.a, tt.b); got != tt.want {
			t.Errorf("compareSemver(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := compareSemver(tt.b, tt.a); got != -tt.want {
			t.Errorf("compareSemver(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}
