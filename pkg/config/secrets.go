package config

import (
	"fmt"
	"slices"

	"github.com/botfleet/botfleet/pkg/secretscan"
)

// findSecret returns the key of the first value in settings that looks like
// a secret (secretscan.Value), and what it looks like. It never returns the
// value. Secrets belong in the environment (a Kubernetes Secret), never in
// the config file on EFS, which many people and pods can read.
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
		if what := secretscan.Value(key, v); what != "" {
			return key, what
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
