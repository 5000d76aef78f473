package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
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

// findSecret returns the key of the first value in settings that looks like
// a secret, and what it looks like. It never returns the value.
func findSecret(settings map[string]any) (key, what string) {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if key, what := secretIn(k, settings[k]); key != "" {
			return key, what
		}
	}
	return "", ""
}

func secretIn(key string, v any) (string, string) {
	switch v := v.(type) {
	case string:
		for _, p := range secretPatterns {
			if p.re.MatchString(v) {
				return key, p.what
			}
		}
		if looksLikeAWSSecret(key, v) {
			return key, "an AWS secret access key"
		}
	case map[string]any:
		if k, w := findSecret(v); k != "" {
			return key + "." + k, w
		}
	case []any:
		for i, e := range v {
			if k, w := secretIn(fmt.Sprintf("%s[%d]", key, i), e); k != "" {
				return k, w
			}
		}
	}
	return "", ""
}
