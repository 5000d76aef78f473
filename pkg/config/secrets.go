package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secrets belong in the environment (a Kubernetes Secret), never in the
// config file on EFS, which many people and pods can read. These patterns
// catch the ones that do the most harm when leaked.
var secretPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a Slack token", regexp.MustCompile(`\bxox[abposre]-[0-9A-Za-z-]{6,}`)},
	{"a Slack app token", regexp.MustCompile(`\bxapp-[0-9]-[0-9A-Za-z-]{6,}`)},
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
}

// secretAdvice ends every refusal of a secret.
const secretAdvice = "; secrets go in the environment (a Kubernetes Secret), never in this file. Remove it, and rotate it if the file was shared"

// scanRaw looks for token shapes anywhere in the file's bytes: values,
// keys, comments, and lines YAML would not even parse. It returns the
// first line that holds one and what it looks like, never the value.
func scanRaw(content []byte) (line int, what string) {
	for l := range bytes.Lines(content) {
		line++
		for _, p := range secretPatterns {
			if p.re.Match(l) {
				return line, p.what
			}
		}
	}
	return 0, ""
}

// awsSecret matches the shape of an AWS secret access key: 40 characters of
// base64 that are not a hex digest (git SHAs are 40 hex characters too).
var awsSecret = regexp.MustCompile(`(^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})($|[^A-Za-z0-9/+=])`)

// A path of exactly 40 such characters (a temp dir, an EFS path) has the
// same shape; a value that is a path is one unless its key says secret.
func looksLikeAWSSecret(key, s string) bool {
	lower := strings.ToLower(key)
	secretKey := strings.Contains(lower, "secret") || strings.Contains(lower, "key") || strings.Contains(lower, "password") || strings.Contains(lower, "credential")
	for _, prefix := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(strings.TrimSpace(s), prefix) && !secretKey {
			return false
		}
	}
	for _, m := range awsSecret.FindAllStringSubmatch(s, -1) {
		v := m[2]
		if strings.Trim(v, "0123456789abcdef") == "" {
			continue
		}
		upper, lower, digit := strings.ContainsAny(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz"), strings.ContainsAny(v, "0123456789")
		if upper && lower && digit {
			return true
		}
	}
	return false
}

// scanTree finds what looks like an AWS secret access key among the keys
// and scalar values under n, whose shape needs the key to judge. scanRaw
// has already looked for the other secrets everywhere. Aliases are not
// followed: their anchors are scanned where they are written.
func scanTree(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if looksLikeAWSSecret(path, n.Value) {
			return &Error{Line: n.Line, Key: path, Msg: "holds what looks like an AWS secret access key" + secretAdvice}
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			if err := scanTree(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if looksLikeAWSSecret("", k.Value) {
				return &Error{Line: k.Line, Msg: "a key looks like an AWS secret access key" + secretAdvice}
			}
			if err := scanTree(n.Content[i+1], join(path, k.Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

// redact hides token shapes in an error's text, whatever put them there: a
// key name lowercased by viper, a Validate message quoting a value. Keys are
// matched without regard to case for that reason.
func redact(s string) string {
	for _, p := range redactPatterns {
		s = p.ReplaceAllString(s, "[redacted]")
	}
	return s
}

var redactPatterns = func() []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(secretPatterns))
	for i, p := range secretPatterns {
		res[i] = regexp.MustCompile("(?i)" + p.re.String())
	}
	return res
}()

// redactKey hides the segments of a dotted key that look like a secret.
func redactKey(key string) string {
	segs := strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	for _, s := range segs {
		if looksLikeAWSSecret("", s) {
			key = strings.ReplaceAll(key, s, "[redacted]")
		}
	}
	return redact(key)
}
