// Package lifecycle reads an Amazon ECR lifecycle policy and evaluates it as
// ECR does, so that a policy can be tested against a history of images
// before it is put on a repository, where a mistake deletes the image a pod
// needs at its next start.
//
// ECR's rules, as its documentation states them (Lifecycle policies, "How
// lifecycle policies work" and "Lifecycle policy properties"):
//   - rules are applied by rulePriority, lowest first; priorities are
//     unique, and a rule with tagStatus "any" has the highest;
//   - an image is expired by one rule or none, and an image that matches
//     the tag requirements of a rule is never expired by a rule of lower
//     priority;
//   - a rule still counts the images that higher rules matched or expired;
//   - tagPrefixList (or tagPatternList) selects an image when each of its
//     entries matches one of the image's tags;
//   - imageCountMoreThan sorts the selected images newest first by push time
//     and expires those beyond countNumber; sinceImagePushed expires those
//     pushed more than countNumber days ago.
package lifecycle

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// File is the repo's policy, relative to the repo root: every bot's ECR
// Repository object carries it (internal/awsplatform), and the
// ecr-controller puts it on the repository.
const File = ".github/ecr-lifecycle-policy.json"

// Policy is a lifecycle policy's JSON.
type Policy struct {
	Rules []Rule `json:"rules"`
}

// Rule is one rule of a policy.
type Rule struct {
	RulePriority int       `json:"rulePriority"`
	Description  string    `json:"description,omitempty"`
	Selection    Selection `json:"selection"`
	Action       Action    `json:"action"`
}

// Selection says which images a rule takes, and how many it keeps.
type Selection struct {
	TagStatus      string   `json:"tagStatus"` // tagged, untagged or any
	TagPrefixList  []string `json:"tagPrefixList,omitempty"`
	TagPatternList []string `json:"tagPatternList,omitempty"`
	CountType      string   `json:"countType"` // imageCountMoreThan or sinceImagePushed
	CountUnit      string   `json:"countUnit,omitempty"`
	CountNumber    int      `json:"countNumber"`
}

// Action is what a rule does; expire is the one evaluated here.
type Action struct {
	Type string `json:"type"`
}

// Image is one image of a repository.
type Image struct {
	Digest   string
	Tags     []string
	PushedAt time.Time
}

// Parse reads a policy strictly (an unknown field is an error, as a typo
// would otherwise silently select more) and checks it as ECR does when the
// policy is put, with every problem joined.
func Parse(data []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reading the lifecycle policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports, joined, what ECR would refuse in the policy, and what
// Expire does not evaluate.
func (p *Policy) Validate() error {
	var errs []error
	bad := func(i int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("rules[%d]: %s", i, fmt.Sprintf(format, args...)))
	}
	if len(p.Rules) == 0 {
		errs = append(errs, errors.New("no rules"))
	}
	priorities := map[int]int{}
	prefixes := map[string]int{}
	anyRule, untagged := -1, -1
	for i, r := range p.Rules {
		s := r.Selection
		if r.RulePriority < 1 {
			bad(i, "rulePriority %d: want 1 or more", r.RulePriority)
		} else if j, ok := priorities[r.RulePriority]; ok {
			bad(i, "rulePriority %d is rules[%d]'s too: each rule has its own", r.RulePriority, j)
		}
		priorities[r.RulePriority] = i
		switch s.TagStatus {
		case "tagged":
			if (len(s.TagPrefixList) == 0) == (len(s.TagPatternList) == 0) {
				bad(i, "tagStatus tagged takes one of tagPrefixList and tagPatternList")
			}
		case "untagged", "any":
			if len(s.TagPrefixList) > 0 || len(s.TagPatternList) > 0 {
				bad(i, "tagStatus %s takes no tagPrefixList or tagPatternList", s.TagStatus)
			}
			if s.TagStatus == "any" {
				if anyRule >= 0 {
					bad(i, "a second rule with tagStatus any (rules[%d])", anyRule)
				}
				anyRule = i
			} else {
				if untagged >= 0 {
					bad(i, "a second rule that selects untagged images (rules[%d])", untagged)
				}
				untagged = i
			}
		default:
			bad(i, "tagStatus %q: want tagged, untagged or any", s.TagStatus)
		}
		for _, pre := range s.TagPrefixList {
			if j, ok := prefixes[pre]; ok && j != i {
				bad(i, "tag prefix %q is rules[%d]'s too: the rules' prefixes are unique", pre, j)
			}
			prefixes[pre] = i
		}
		for _, pat := range s.TagPatternList {
			if strings.Count(pat, "*") > 4 {
				bad(i, "tag pattern %q: at most four wildcards", pat)
			}
		}
		switch s.CountType {
		case "imageCountMoreThan":
			if s.CountUnit != "" {
				bad(i, "imageCountMoreThan takes no countUnit")
			}
		case "sinceImagePushed":
			if s.CountUnit != "days" {
				bad(i, "sinceImagePushed: countUnit %q, want days", s.CountUnit)
			}
		default:
			bad(i, "countType %q: want imageCountMoreThan or sinceImagePushed", s.CountType)
		}
		if s.CountNumber < 1 {
			bad(i, "countNumber %d: want 1 or more", s.CountNumber)
		}
		if r.Action.Type != "expire" {
			bad(i, "action %q: only expire is evaluated here", r.Action.Type)
		}
	}
	if anyRule >= 0 {
		for i, r := range p.Rules {
			if i != anyRule && r.RulePriority > p.Rules[anyRule].RulePriority {
				bad(anyRule, "tagStatus any must have the highest rulePriority; rules[%d] has %d", i, r.RulePriority)
			}
		}
	}
	return errors.Join(errs...)
}

// selects reports whether the rule's tag requirements take img.
func (s Selection) selects(img Image) bool {
	switch s.TagStatus {
	case "any":
		return true
	case "untagged":
		return len(img.Tags) == 0
	}
	if len(img.Tags) == 0 {
		return false
	}
	for _, pre := range s.TagPrefixList {
		if !slices.ContainsFunc(img.Tags, func(t string) bool { return strings.HasPrefix(t, pre) }) {
			return false
		}
	}
	for _, pat := range s.TagPatternList {
		if !slices.ContainsFunc(img.Tags, func(t string) bool { return wildcard(pat, t) }) {
			return false
		}
	}
	return true
}

// wildcard matches s against a pattern in which * stands for any run of
// characters, and nothing else is special.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// Expire returns the images (in their order in images) that the policy
// expires at time now. It assumes a valid policy (Parse or Validate).
func (p *Policy) Expire(images []Image, now time.Time) []Image {
	rules := slices.Clone(p.Rules)
	slices.SortFunc(rules, func(a, b Rule) int { return cmp.Compare(a.RulePriority, b.RulePriority) })
	expired := make([]bool, len(images))
	matched := make([]bool, len(images)) // by a rule already applied
	for _, r := range rules {
		var sel []int
		for i, img := range images {
			if r.Selection.selects(img) {
				sel = append(sel, i)
			}
		}
		// Newest first; a rule counts the images higher rules took too.
		slices.SortStableFunc(sel, func(a, b int) int { return images[b].PushedAt.Compare(images[a].PushedAt) })
		var over []int
		switch r.Selection.CountType {
		case "imageCountMoreThan":
			if len(sel) > r.Selection.CountNumber {
				over = sel[r.Selection.CountNumber:]
			}
		case "sinceImagePushed":
			limit := now.AddDate(0, 0, -r.Selection.CountNumber)
			for _, i := range sel {
				if images[i].PushedAt.Before(limit) {
					over = append(over, i)
				}
			}
		}
		for _, i := range over {
			if !matched[i] {
				expired[i] = true
			}
		}
		for _, i := range sel {
			matched[i] = true
		}
	}
	var out []Image
	for i, img := range images {
		if expired[i] {
			out = append(out, img)
		}
	}
	return out
}
