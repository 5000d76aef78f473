package ecsfake

import (
	"fmt"
	"regexp"
	"strings"
)

// What ECS takes as a container's image (ContainerDefinition.image in the
// ECS API reference): repository-url/image:tag, up to 255 characters of
// letters, digits, hyphens, underscores, colons, periods, forward slashes
// and number signs; or repository-url/image@digest, where the 255
// characters bound what comes before the @ and the digest is sha256: and
// exactly 64 hex digits, sha256 being the only hash function supported.
var (
	imageName   = regexp.MustCompile(`^[A-Za-z0-9_.:/#-]{1,255}$`)
	imageDigest = regexp.MustCompile(`^sha256:[0-9A-Fa-f]{64}$`)
)

// checkImage says why ECS would refuse image reference img, or nil.
func checkImage(img string) error {
	name, digest, byDigest := strings.Cut(img, "@")
	switch {
	case img == "":
		return fmt.Errorf("an image is required")
	case !imageName.MatchString(name):
		return fmt.Errorf("%q: the repository and image name (before any @) must be 1 to 255 letters, digits, hyphens, underscores, colons, periods, forward slashes and number signs", img)
	case byDigest && !imageDigest.MatchString(digest):
		return fmt.Errorf("%q: a digest must be sha256: and exactly 64 hex digits", img)
	}
	return nil
}
