package config

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/botfleet/botfleet/pkg/secretscan"
)

// secretAdvice ends every refusal of a secret.
const secretAdvice = "; secrets go in AWS Secrets Manager (`botctl secrets put`) or, locally, the environment, never in this file. Remove it, and rotate it if the file was shared"

// scanRaw looks for token shapes anywhere in the file's bytes: values,
// keys, comments, and lines YAML would not even parse. It returns the
// first line that holds one and what it looks like, never the value.
func scanRaw(content []byte) (line int, what string) {
	for l := range bytes.Lines(content) {
		line++
		if what := secretscan.Token(string(l)); what != "" {
			return line, what
		}
	}
	return 0, ""
}

// scanTree finds what looks like an AWS secret access key among the keys
// and scalar values under n, whose shape needs the key to judge. scanRaw
// has already looked for the other secrets everywhere. Aliases are not
// followed: their anchors are scanned where they are written.
func scanTree(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if secretscan.Value(path, n.Value) == secretscan.AWSSecretKey {
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
			if secretscan.Value("", k.Value) == secretscan.AWSSecretKey {
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
// key name lowercased by viper, a Validate message quoting a value.
func redact(s string) string { return secretscan.Redact(s) }

// redactKey hides the segments of a dotted key that look like a secret.
func redactKey(key string) string {
	segs := strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	for _, s := range segs {
		if secretscan.Value("", s) == secretscan.AWSSecretKey {
			key = strings.ReplaceAll(key, s, "[redacted]")
		}
	}
	return redact(key)
}
