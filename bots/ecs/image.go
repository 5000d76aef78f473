package main

import (
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// imageRef is a container image reference, as a task definition holds it:
// repository[:tag] or repository@sha256:<digest> (ECS takes both; Docker
// also repository:tag@digest, where the digest is what runs).
type imageRef struct {
	Repo, Tag, Digest string
}

// parseImage splits an image reference into its repository, tag and
// digest, each "" when absent.
func parseImage(img string) imageRef {
	var r imageRef
	img, r.Digest, _ = strings.Cut(img, "@")
	slash := strings.LastIndex(img, "/")
	if i := strings.LastIndex(img, ":"); i > slash {
		img, r.Tag = img[:i], img[i+1:]
	}
	r.Repo = img
	return r
}

// validDigest is the only digest ECS takes in an image reference: sha256
// and 64 hex digits.
var validDigest = regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`)

// shortDigest is the digest cut for people: "sha256:" and 12 hex digits,
// as Docker shows image ids.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// imageTagKey is the key of the task definition tag in which a deploy
// keeps the image tag it deployed for container name, as "tag@digest": the
// image itself is registered by digest (so that it runs what was
// approved), which names no tag. ECS tag keys take letters, digits, spaces
// and + - = . _ : / @, as container names (letters, digits, - and _) do; a
// value takes 256 characters, a tag 128 and a digest 71.
func imageTagKey(container string) string { return "botfleet:image-tag:" + container }

// imageTag returns the tag of container c of a task definition with tags
// tdTags: the image's own, or else the one a deploy kept in imageTagKey
// for the digest c runs (a revision registered since, by other means,
// with the tags copied, keeps a value of another digest: ignored).
func imageTag(c *types.ContainerDefinition, tdTags []types.Tag) string {
	r := parseImage(aws.ToString(c.Image))
	if r.Tag != "" || r.Digest == "" {
		return r.Tag
	}
	key := imageTagKey(aws.ToString(c.Name))
	for _, t := range tdTags {
		if aws.ToString(t.Key) != key {
			continue
		}
		if tag, digest, _ := strings.Cut(aws.ToString(t.Value), "@"); digest == r.Digest {
			return tag
		}
	}
	return ""
}

// imageLabel names the image of container c for people: its tag, or its
// short digest when it has none, or "untagged".
func imageLabel(c *types.ContainerDefinition, tdTags []types.Tag) string {
	if tag := imageTag(c, tdTags); tag != "" {
		return tag
	}
	if d := parseImage(aws.ToString(c.Image)).Digest; d != "" {
		return "@" + shortDigest(d)
	}
	return "untagged"
}

// withTag returns tags with key set to value, replacing its old value.
func withTag(tags []types.Tag, key, value string) []types.Tag {
	out := make([]types.Tag, 0, len(tags)+1)
	for _, t := range tags {
		if aws.ToString(t.Key) != key {
			out = append(out, t)
		}
	}
	return append(out, types.Tag{Key: aws.String(key), Value: aws.String(value)})
}
