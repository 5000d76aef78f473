package release

import (
	"fmt"
	"regexp"
	"strconv"
)

// Tag is the image tag of a release: the commit the images were built from,
// and, for a rebuild of that commit (new base images, no code change), the
// run that rebuilt it. Image tags are immutable in ECR, so a rebuild needs a
// tag of its own.
type Tag struct {
	Commit  string // full, lowercase
	Rebuild int64  // 0 for the release of Commit; else the rebuild's run id
}

var tagRe = regexp.MustCompile(`^([0-9a-f]{40})(?:-rebuild-([1-9][0-9]{0,17}))?$`)

// ParseTag parses an image tag of a release: "<commit>" or
// "<commit>-rebuild-<run id>"; ok is false for any other tag, such as a new
// bot's placeholder.
func ParseTag(s string) (t Tag, ok bool) {
	m := tagRe.FindStringSubmatch(s)
	if m == nil {
		return Tag{}, false
	}
	t.Commit = m[1]
	if m[2] != "" {
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return Tag{}, false
		}
		t.Rebuild = n
	}
	return t, true
}

// String is the tag as the images and overlays carry it.
func (t Tag) String() string {
	if t.Rebuild == 0 {
		return t.Commit
	}
	return fmt.Sprintf("%s-rebuild-%d", t.Commit, t.Rebuild)
}

func (t Tag) short() string {
	s := t.Commit[:12]
	if t.Rebuild != 0 {
		s += fmt.Sprintf("-rebuild-%d", t.Rebuild)
	}
	return s
}
