package lifecycle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// history makes images pushed an hour apart, oldest first; each entry is
// the image's tags, space-separated ("" for untagged). Digests are the
// first tag, or "untagged-<n>".
func history(entries ...string) []Image {
	var imgs []Image
	for i, e := range entries {
		img := Image{Tags: strings.Fields(e), PushedAt: t0.Add(time.Duration(i) * time.Hour)}
		img.Digest = "untagged-" + string(rune('a'+i))
		if len(img.Tags) > 0 {
			img.Digest = img.Tags[0]
		}
		imgs = append(imgs, img)
	}
	return imgs
}

func digests(imgs []Image) []string {
	out := []string{}
	for _, img := range imgs {
		out = append(out, img.Digest)
	}
	return out
}

func rule(prio int, status string, prefixes []string, countType string, n int) Rule {
	r := Rule{RulePriority: prio, Selection: Selection{TagStatus: status, TagPrefixList: prefixes, CountType: countType, CountNumber: n}, Action: Action{Type: "expire"}}
	if countType == "sinceImagePushed" {
		r.Selection.CountUnit = "days"
	}
	return r
}

func TestExpire(t *testing.T) {
	keepPrd := rule(1, "tagged", []string{"prd-"}, "imageCountMoreThan", 1000)
	tests := []struct {
		name   string
		rules  []Rule
		images []Image
		now    time.Time
		want   []string
	}{
		{
			name:   "the newest n of any tag",
			rules:  []Rule{rule(1, "any", nil, "imageCountMoreThan", 2)},
			images: history("a", "b", "c", "d", "e"),
			want:   []string{"a", "b", "c"},
		},
		{
			name:   "a prefix a higher rule matches is never expired by a lower one",
			rules:  []Rule{keepPrd, rule(2, "any", nil, "imageCountMoreThan", 2)},
			images: history("a prd-a", "b", "c", "d"),
			want:   []string{"b"},
		},
		{
			name: "a lower rule still counts what a higher one matched",
			// Rule 2's two newest are d and c (kept by rule 1): b goes too.
			rules:  []Rule{keepPrd, rule(2, "any", nil, "imageCountMoreThan", 2)},
			images: history("a", "b", "c prd-c", "d"),
			want:   []string{"a", "b"},
		},
		{
			name:   "the old policy: one rule, the image prd runs goes",
			rules:  []Rule{rule(1, "any", nil, "imageCountMoreThan", 2)},
			images: history("a prd-a", "b", "c", "d"),
			want:   []string{"a", "b"},
		},
		{
			name: "images a higher rule expired still count below",
			// Rule 1 keeps tmp3 and expires tmp1, tmp2; rule 2's three newest are tmp3, tmp2, tmp1.
			rules:  []Rule{rule(1, "tagged", []string{"tmp"}, "imageCountMoreThan", 1), rule(2, "any", nil, "imageCountMoreThan", 3)},
			images: history("a", "b", "tmp1", "tmp2", "tmp3"),
			want:   []string{"a", "b", "tmp1", "tmp2"},
		},
		{
			name:   "every prefix of the list must match one of the tags",
			rules:  []Rule{rule(1, "tagged", []string{"prod", "v"}, "imageCountMoreThan", 1)},
			images: history("prod-1 v1", "prod-2", "v3", "prod-4 v4"),
			want:   []string{"prod-1"},
		},
		{
			name:   "untagged only",
			rules:  []Rule{rule(1, "untagged", nil, "imageCountMoreThan", 1)},
			images: history("", "a", "", ""),
			want:   []string{"untagged-a", "untagged-c"},
		},
		{
			name:   "days since pushed",
			rules:  []Rule{rule(1, "any", nil, "sinceImagePushed", 1)},
			images: history("a", "b", "c"),
			now:    t0.Add(24*time.Hour + 90*time.Minute), // a and b are older than a day
			want:   []string{"a", "b"},
		},
		{
			name:   "patterns",
			rules:  []Rule{{RulePriority: 1, Selection: Selection{TagStatus: "tagged", TagPatternList: []string{"prd-*-rebuild-*"}, CountType: "imageCountMoreThan", CountNumber: 1}, Action: Action{Type: "expire"}}},
			images: history("prd-1-rebuild-2", "prd-1", "prd-3-rebuild-4", "x-1-rebuild-5"),
			want:   []string{"prd-1-rebuild-2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Policy{Rules: tt.rules}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			got := digests(p.Expire(tt.images, tt.now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("expired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"prod", "prod", true}, {"prod", "prod1", false},
		{"prod*", "prod1", true}, {"*prod", "xprod", true}, {"*prod", "prodx", false},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "acb", false}, {"*", "", true},
		{"a*a", "a", false},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcard(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown field", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1,"tagPrefix":["x"]},"action":{"type":"expire"}}]}`, `unknown field "tagPrefix"`},
		{"no rules", `{"rules":[]}`, "no rules"},
		{"same priority", `{"rules":[
			{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
			{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["b"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "rulePriority 1 is rules[0]'s too"},
		{"any not last", `{"rules":[
			{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100},"action":{"type":"expire"}},
			{"rulePriority":2,"selection":{"tagStatus":"tagged","tagPrefixList":["prd-"],"countType":"imageCountMoreThan","countNumber":1000},"action":{"type":"expire"}}]}`, "tagStatus any must have the highest rulePriority"},
		{"tagged without a list", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "takes one of tagPrefixList and tagPatternList"},
		{"any with prefixes", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "takes no tagPrefixList"},
		{"same prefix twice", `{"rules":[
			{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
			{"rulePriority":2,"selection":{"tagStatus":"tagged","tagPrefixList":["a"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`, `tag prefix "a" is rules[0]'s too`},
		{"count zero", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0},"action":{"type":"expire"}}]}`, "countNumber 0"},
		{"days without unit", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countNumber":3},"action":{"type":"expire"}}]}`, `countUnit "", want days`},
		{"transition", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"transition"}}]}`, "only expire is evaluated here"},
		{"five wildcards", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`, "at most four wildcards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRepoPolicy parses the repo's own policy, the file release.yml puts on
// every bot's repository. `botctl validate` tests it against the overlays.
func TestRepoPolicy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", filepath.FromSlash(File)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatal(err)
	}
}
