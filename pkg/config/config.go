// Package config loads a bot's YAML configuration into its config struct
// with viper, strictly: an unknown key, a value of the wrong type or a
// failed Validate is an error that names the file and the key.
//
// Struct fields are named by their `yaml` tags (lowercase, since viper
// lowercases keys). Any leaf key can be overridden from the environment with
// the prefix BOT_CFG_ and dots as underscores: state.dir is
// BOT_CFG_STATE_DIR. Keys inside maps cannot be overridden this way, and an
// unknown BOT_CFG_ variable is an error, so a typo never goes unnoticed.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix starts the environment variables that override config keys.
const EnvPrefix = "BOT_CFG_"

// Options says where to read a config from.
type Options struct {
	// Path is the YAML file.
	Path string
	// Required makes a missing file an error; otherwise a missing file
	// leaves dst's defaults (whatever it held before Load).
	Required bool
	// Environ is the environment, as os.Environ returns it; only
	// variables starting with EnvPrefix are read.
	Environ []string
}

// Error is a config problem: which file, which key, what is wrong.
type Error struct {
	File string
	Key  string // dotted path, e.g. apps[api].timeout; empty for the file as a whole
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	if e.Key != "" {
		b.WriteString(": key " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Validator is implemented by config structs that check themselves after
// loading. Validate's error should name the key that is wrong.
type Validator interface {
	Validate() error
}

// Defaulter is implemented by config structs that set their defaults
// before the file is read; keys the file leaves out keep them.
type Defaulter interface {
	SetDefaults()
}

// Loaded says what Load read.
type Loaded struct {
	// FileFound is false when the file was missing and not required.
	FileFound bool
	// Content is the file's bytes, for change detection.
	Content []byte
}

// Load calls dst's SetDefaults if it has one, reads o.Path into dst (a
// pointer to a struct), applies environment overrides and calls dst's
// Validate if it has one. On error dst may be
// partly written: load into a fresh value and swap it in on success.
func Load(dst any, o Options) (Loaded, error) {
	var res Loaded
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return res, fmt.Errorf("config: Load needs a pointer to a struct, not %T", dst)
	}
	if d, ok := dst.(Defaulter); ok {
		d.SetDefaults()
	}
	v := viper.New()
	v.SetConfigType("yaml")
	content, err := os.ReadFile(o.Path)
	switch {
	case err == nil:
		res.FileFound, res.Content = true, content
		if err := v.ReadConfig(strings.NewReader(string(content))); err != nil {
			return res, &Error{File: o.Path, Msg: "not valid YAML: " + yamlMsg(err), Err: err}
		}
		if key, what := findSecret(v.AllSettings()); key != "" {
			return res, &Error{File: o.Path, Key: key, Msg: "holds what looks like " + what + "; secrets go in the environment (a Kubernetes Secret), never in this file. Remove it, and rotate it if the file was shared"}
		}
	case errors.Is(err, fs.ErrNotExist) && !o.Required:
	case errors.Is(err, fs.ErrNotExist):
		return res, &Error{File: o.Path, Msg: "file does not exist (named by BOT_CONFIG)", Err: err}
	default:
		return res, &Error{File: o.Path, Msg: err.Error(), Err: err}
	}

	keys := leafKeys(rv.Elem().Type(), "")
	for _, kv := range o.Environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key, found := envKey(keys, strings.TrimPrefix(name, EnvPrefix))
		if !found {
			return res, &Error{File: o.Path, Msg: fmt.Sprintf("environment variable %s matches no config key (known: %s)", name, envNames(keys))}
		}
		v.Set(key, val)
	}

	var md mapstructure.Metadata
	err = v.Unmarshal(dst, func(c *mapstructure.DecoderConfig) {
		c.TagName = "yaml"
		c.Metadata = &md
		c.ZeroFields = false
		c.SquashTagOption = "inline"
	})
	if err != nil {
		return res, &Error{File: o.Path, Msg: decodeMsg(err), Err: err}
	}
	if len(md.Unused) > 0 {
		slices.Sort(md.Unused)
		return res, &Error{File: o.Path, Key: md.Unused[0], Msg: "unknown key (check its spelling and indentation)"}
	}
	if val, ok := dst.(Validator); ok {
		if err := val.Validate(); err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				ce.File = o.Path
				return res, ce
			}
			return res, &Error{File: o.Path, Msg: err.Error(), Err: err}
		}
	}
	return res, nil
}

// leafKeys lists the dotted keys of t's fields that hold a value an
// environment variable can set: not structs (their fields are listed) and
// not maps (their keys are data).
func leafKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.Contains(opts, "inline") && ft.Kind() == reflect.Struct {
			keys = append(keys, leafKeys(ft, prefix)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + name
		switch {
		case ft.Kind() == reflect.Struct && ft.PkgPath() != "time":
			keys = append(keys, leafKeys(ft, key+".")...)
		case ft.Kind() == reflect.Map:
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

func envKey(keys []string, suffix string) (string, bool) {
	for _, k := range keys {
		if envName(k) == strings.ToUpper(suffix) {
			return k, true
		}
	}
	return "", false
}

func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

func envNames(keys []string) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = EnvPrefix + envName(k)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// yamlMsg shortens viper's wrapping of a YAML parse error.
func yamlMsg(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "yaml: "); i >= 0 {
		return msg[i+len("yaml: "):]
	}
	return msg
}

// decodeMsg turns mapstructure's error into one line per problem.
func decodeMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):\n\n")
	msg = strings.ReplaceAll(msg, "\n", "; ")
	return msg
}
