package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/settings"
)

// settingsOptions are `botctl settings`'s.
type settingsOptions struct {
	*globalOptions
	keys []string
}

func newSettingsCmd(g *globalOptions) *cobra.Command {
	o := &settingsOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "settings KEY...",
		Short: "Print values of " + settings.FileName + ", one a line",
		Long: "Prints the value of each KEY, a dotted path into " + settings.FileName + " (aws.region,\n" +
			"environments.prd.namespace), one a line, after validating the file. Workflows and\n" +
			"scripts read the settings this way, so the file stays their one source.",
		Example: "  botctl settings aws.ecrRegistry\n  botctl settings aws.region aws.imagePrefix",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.keys = args
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
}

func (o *settingsOptions) validate() error {
	if len(o.keys) == 0 {
		return usageError{fmt.Errorf("settings takes one or more keys, e.g. aws.region")}
	}
	return nil
}

func (o *settingsOptions) run(_ context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	s, err := o.settings(root)
	if err != nil {
		return err
	}
	// Through JSON, so the keys are the file's own (its json tags) and a
	// field added to Settings needs nothing here.
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding settings: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal(data, &tree); err != nil {
		return fmt.Errorf("decoding settings: %w", err)
	}
	var out strings.Builder
	for _, key := range o.keys {
		v, err := lookup(tree, key)
		if err != nil {
			return usageError{err}
		}
		out.WriteString(v + "\n")
	}
	_, err = fmt.Fprint(o.stdout, out.String())
	return err
}

// lookup returns the scalar at the dotted key in tree.
func lookup(tree map[string]any, key string) (string, error) {
	var node any = tree
	path := ""
	for part := range strings.SplitSeq(key, ".") {
		m, ok := node.(map[string]any)
		if !ok {
			return "", fmt.Errorf("key %q: %s is a value, not a map", key, path)
		}
		next, ok := m[part]
		if !ok {
			return "", fmt.Errorf("key %q: no %q in %s; want one of %s", key, part, orFile(path), strings.Join(childKeys(m, path), ", "))
		}
		node = next
		path = strings.TrimPrefix(path+"."+part, ".")
	}
	switch v := node.(type) {
	case map[string]any:
		return "", fmt.Errorf("key %q is a map; ask for one of %s", key, strings.Join(childKeys(v, path), ", "))
	case string:
		return v, nil
	default:
		return fmt.Sprint(v), nil
	}
}

func childKeys(m map[string]any, prefix string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strings.TrimPrefix(prefix+"."+k, "."))
	}
	slices.Sort(keys)
	return keys
}

func orFile(path string) string {
	if path == "" {
		return settings.FileName
	}
	return path
}
