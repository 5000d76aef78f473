// Package secretscan recognises the secrets that do the most harm when they
// leak: Slack tokens, AWS access key ids and secret access keys, and private
// keys. It is botfleet's one secret scanner: the config loader refuses a
// value it recognises, and `make lint` (botctl check-files) fails on a
// tracked file that holds one.
//
// Its answers say what a secret looks like and where; Finding.Match holds
// the secret only so that an allowlist can be checked, and is never to be
// printed. It uses only the standard library, so any module can import it.
package secretscan

import (
	"bytes"
	"regexp"
	"strings"
)

// tokens are the secrets with a shape of their own, whatever surrounds them.
var tokens = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a Slack token", regexp.MustCompile(`\bxox[abposre]-[0-9A-Za-z-]{6,}`)},
	{"a Slack app token", regexp.MustCompile(`\bxapp-[0-9]-[0-9A-Za-z-]{6,}`)},
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
}

// caseless are the token patterns without regard to case, for Redact:
// viper lowercases key names, so a token used as a key arrives lowercased.
var caseless = func() []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(tokens))
	for i, t := range tokens {
		res[i] = regexp.MustCompile("(?i)" + t.re.String())
	}
	return res
}()

// Redact returns s with every token shape, in any case, replaced by
// [redacted]: for error text that may quote a key or a value.
func Redact(s string) string {
	for _, re := range caseless {
		s = re.ReplaceAllString(s, "[redacted]")
	}
	return s
}

// AWSSecretKey is what Value and Text call an AWS secret access key.
const AWSSecretKey = "an AWS secret access key"

// awsSecret matches the shape of an AWS secret access key: 40 characters of
// base64 that are not a hex digest (git SHAs are 40 hex characters too).
var awsSecret = regexp.MustCompile(`(^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})($|[^A-Za-z0-9/+=])`)

// Token returns what s holds that has a token's shape ("a Slack token"), or
// "" when it holds none.
func Token(s string) string {
	for _, t := range tokens {
		if t.re.MatchString(s) {
			return t.what
		}
	}
	return ""
}

// Value returns what the value v of the setting key looks like when it holds
// a secret ("a Slack token", AWSSecretKey), or "". An AWS secret access key
// has no shape of its own: any 40 base64 characters mixing upper and lower
// case and digits count, but in a path (a temp dir or an EFS path can be 40
// such characters) only when key names a secret.
func Value(key, v string) string {
	if what := Token(v); what != "" {
		return what
	}
	secretKey := secretName(key)
	for _, prefix := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(strings.TrimSpace(v), prefix) && !secretKey {
			return ""
		}
	}
	if hasAWSSecret(v) {
		return AWSSecretKey
	}
	return ""
}

// secretName reports whether a setting's name says it holds a secret.
func secretName(key string) bool {
	lower := strings.ToLower(key)
	return strings.Contains(lower, "secret") || strings.Contains(lower, "key") || strings.Contains(lower, "password") || strings.Contains(lower, "credential")
}

func hasAWSSecret(s string) bool {
	for _, m := range awsSecret.FindAllStringSubmatch(s, -1) {
		if mixed(m[2]) {
			return true
		}
	}
	return false
}

// mixed reports whether v mixes upper and lower case letters and digits,
// as a random key does and a hex digest or a word does not.
func mixed(v string) bool {
	if strings.Trim(v, "0123456789abcdef") == "" {
		return false
	}
	return strings.ContainsAny(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(v, "0123456789")
}

// Finding is one secret in a text: its line (from 1), what it looks like,
// and the secret itself, for an allowlist to compare; never print Match.
type Finding struct {
	Line  int
	What  string
	Match string
}

// Text returns the secrets in a file's text, in line order. Tokens count
// anywhere. An AWS secret access key counts only after a name that says it
// is a secret on the same line (aws_secret_access_key = …, "SecretAccessKey":
// …), since a file, unlike a setting, holds many 40-character strings that
// are not keys: paths, hashes, base64 of all kinds.
func Text(data []byte) []Finding {
	var found []Finding
	line := 0
	for l := range bytes.Lines(data) {
		line++
		s := string(l)
		for _, t := range tokens {
			for _, m := range t.re.FindAllString(s, -1) {
				found = append(found, Finding{Line: line, What: t.what, Match: m})
			}
		}
		for _, m := range awsSecret.FindAllStringSubmatchIndex(s, -1) {
			v := s[m[4]:m[5]]
			if mixed(v) && secretName(s[:m[4]]) {
				found = append(found, Finding{Line: line, What: AWSSecretKey, Match: v})
			}
		}
	}
	return found
}
