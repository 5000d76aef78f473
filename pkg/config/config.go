// Package config loads a bot's YAML configuration into its config struct
// with viper, strictly: a file over MaxSize, a secret anywhere in it (even
// in a comment), invalid YAML, keys that differ only in case, an unknown
// key, a value of the wrong type or a failed Validate is an error that names
// the file, the line and the key, and never echoes a secret.
//
// Struct fields are named by their `yaml` tags (lowercase, since viper
// lowercases keys). Any leaf key can be overridden from the environment with
// the prefix BOT_CFG_ and dots as underscores: state.dir is
// BOT_CFG_STATE_DIR (which also sets a key state_dir, if the struct has
// both). Keys inside maps cannot be overridden this way, and an unknown
// BOT_CFG_ variable is an error, so a typo never goes unnoticed.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the environment variables that override config keys.
const EnvPrefix = "BOT_CFG_"

// MaxSize is the largest config file Load reads, in bytes. A bot's config
// is a few kilobytes; a file a thousand times that is a mistake, and
// parsing it would hold the bot for seconds and much memory.
const MaxSize = 1 << 20

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
	// Content, when not nil, is the file's content, already read with
	// ReadFile; Load then reads nothing and Path only names the file.
	Content []byte
}

// Error is a config problem: which file, which line, which key, what is
// wrong. Its text is one line, such as
//
//	config/local.yaml:4: key greeting: want a string, got a list
//
// with anything shaped like a token redacted.
type Error struct {
	File string
	Line int    // 1-based; 0 when the problem has no line (a missing key, an environment variable)
	Key  string // dotted path, e.g. apps[api].timeout; empty for the file as a whole
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "config: line %d", e.Line)
	default:
		b.WriteString("config")
	}
	if e.Key != "" {
		b.WriteString(": key " + redactKey(e.Key))
	}
	b.WriteString(": " + e.Msg)
	return redact(b.String())
}

func (e *Error) Unwrap() error { return e.Err }

// Validator is implemented by config structs that check themselves after
// loading. Validate's error should name the key that is wrong, as
// "key apps[api].timeout: must be at most 6h"; errors joined with
// errors.Join are reported one a line.
type Validator interface {
	Validate() error
}

// Retirer is implemented by config structs that once had keys they no
// longer have: a file that still sets one is refused with what replaced
// it, rather than as an unknown key.
type Retirer interface {
	// RetiredKeys maps each retired key (dotted, lowercase:
	// "jobs.state_dir") to what replaced it ("set BOT_STATE_DIR: jobs live
	// in its jobs/").
	RetiredKeys() map[string]string
}

// retiredKey returns the retired key that an unused key is, or holds (a
// mapping "state" whose only field was the retired "state.dir"), and why.
func retiredKey(retired map[string]string, key string) (string, string, bool) {
	if why, ok := retired[key]; ok {
		return key, why, true
	}
	for old, why := range retired {
		if strings.HasPrefix(old, key+".") {
			return old, why, true
		}
	}
	return "", "", false
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

	path string
	keys keyIndex
}

// ReadFile reads a config file of at most MaxSize bytes. A missing file's
// error matches fs.ErrNotExist; a directory or a larger file is refused
// before it is read.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: path, Msg: "does not exist", Err: err}
	}
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot open it: " + errText(err), Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot stat it: " + errText(err), Err: err}
	}
	if fi.IsDir() {
		return nil, &Error{File: path, Msg: "is a directory, not a file"}
	}
	if fi.Size() > MaxSize {
		return nil, tooLarge(path, fi.Size())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read it: " + errText(err), Err: err}
	}
	if len(b) > MaxSize { // a special file, or one that grew since Stat
		return nil, &Error{File: path, Msg: fmt.Sprintf("is over 1 MiB; a config file may be at most 1 MiB (%d bytes)", MaxSize)}
	}
	return b, nil
}

func tooLarge(path string, size int64) *Error {
	return &Error{File: path, Msg: fmt.Sprintf("is %d bytes (%.1f MiB); a config file may be at most 1 MiB (%d bytes)", size, float64(size)/(1<<20), MaxSize)}
}

// errText drops the path an *fs.PathError repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Load calls dst's SetDefaults if it has one, reads o.Path into dst (a
// pointer to a struct), applies environment overrides and calls dst's
// Validate if it has one. On error dst may be partly written: load into a
// fresh value and swap it in on success. Load is safe for concurrent use
// with distinct dst.
func Load(dst any, o Options) (Loaded, error) {
	res := Loaded{path: o.Path}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return res, fmt.Errorf("config: Load needs a pointer to a struct, not %T", dst)
	}
	if d, ok := dst.(Defaulter); ok {
		d.SetDefaults()
	}
	content := o.Content
	if content == nil {
		var err error
		content, err = ReadFile(o.Path)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && !o.Required:
		case errors.Is(err, fs.ErrNotExist):
			return res, &Error{File: o.Path, Msg: "does not exist (named by BOT_CONFIG)", Err: err}
		default:
			return res, err
		}
	} else if len(content) > MaxSize {
		return res, tooLarge(o.Path, int64(len(content)))
	}

	dec := &yamlDecoder{}
	v := viper.NewWithOptions(viper.WithDecoderRegistry(dec))
	v.SetConfigType("yaml")
	if content != nil {
		res.FileFound, res.Content = true, content
		if err := v.ReadConfig(bytes.NewReader(content)); err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				ce = &Error{Msg: err.Error(), Err: err}
			}
			ce.File = o.Path
			return res, ce
		}
	}
	res.keys = indexKeys(dec.root, rv.Elem().Type())

	keys := leafKeys(rv.Elem().Type(), "")
	fromEnv := map[string]envValue{}
	for _, kv := range o.Environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		matched := envKeys(keys, strings.TrimPrefix(name, EnvPrefix))
		if len(matched) == 0 {
			return res, &Error{Msg: fmt.Sprintf("environment variable %s matches no config key (known: %s)", name, envNames(keys))}
		}
		for _, k := range matched {
			v.Set(k.key, val)
			fromEnv[normKey(k.key)] = envValue{name: name, value: val, typ: k.typ}
		}
	}

	var md mapstructure.Metadata
	err := v.Unmarshal(dst, func(c *mapstructure.DecoderConfig) {
		c.TagName = "yaml"
		c.Metadata = &md
		c.ZeroFields = false
		c.SquashTagOption = "inline"
	})
	var problems []*Error
	if err != nil {
		problems = decodeErrors(err, res.keys, fromEnv)
	}
	var retired map[string]string
	if r, ok := dst.(Retirer); ok {
		retired = r.RetiredKeys()
	}
	for _, key := range md.Unused {
		info, _, _ := res.keys.lookup(key)
		msg := "unknown key (check its spelling and indentation)"
		if old, why, ok := retiredKey(retired, normKey(key)); ok {
			key, msg = old, "no longer a config key: "+why
		}
		problems = append(problems, &Error{Line: info.line, Key: key, Msg: msg})
	}
	if len(problems) > 0 {
		return res, res.join(problems)
	}
	if val, ok := dst.(Validator); ok {
		if err := val.Validate(); err != nil {
			return res, res.Locate(err)
		}
	}
	return res, nil
}

// Locate returns err, a problem with the loaded config found after Load
// (such as a bot's access rules naming an unknown command), as config
// errors that name the file and, for each "key K: ..." problem, the line
// that sets K. Errors joined with errors.Join are reported one a line.
func (l Loaded) Locate(err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	problems := make([]*Error, 0, len(errs))
	for _, e := range errs {
		var ce *Error
		if errors.As(e, &ce) {
			ce = &Error{Line: ce.Line, Key: ce.Key, Msg: ce.Msg, Err: ce.Err}
		} else if rest, ok := strings.CutPrefix(e.Error(), "key "); ok && strings.Contains(rest, ": ") {
			key, msg, _ := strings.Cut(rest, ": ")
			ce = &Error{Key: key, Msg: msg, Err: e}
		} else {
			ce = &Error{Msg: e.Error(), Err: e}
		}
		if ce.Line == 0 && ce.Key != "" {
			if info, _, ok := l.keys.lookup(ce.Key); ok {
				ce.Line = info.line
			}
		}
		problems = append(problems, ce)
	}
	return l.join(problems)
}

// maxProblems bounds the problems one error reports, one a line.
const maxProblems = 10

// join names the file in each problem and returns them in the order of
// their lines, one a line, at most maxProblems.
func (l Loaded) join(problems []*Error) error {
	slices.SortStableFunc(problems, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, 0, min(len(problems), maxProblems+1))
	for i, p := range problems {
		if i == maxProblems {
			errs = append(errs, &Error{File: l.path, Msg: fmt.Sprintf("and %d more problems", len(problems)-maxProblems)})
			break
		}
		p.File = l.path
		p.Msg = strings.ReplaceAll(p.Msg, "\n", "; ")
		errs = append(errs, p)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// yamlDecoder is the YAML decoder viper is given. Before viper sees the
// file it refuses secrets anywhere in it (comments and keys too), keys set
// twice and keys that differ only in case (viper lowercases them, so one
// would silently win), and it keeps the node tree for line numbers. It
// decodes in time linear in the file's size.
type yamlDecoder struct {
	root *yaml.Node
}

func (d *yamlDecoder) Decoder(string) (viper.Decoder, error) { return d, nil }

func (d *yamlDecoder) Decode(b []byte, c map[string]any) error {
	if line, what := scanRaw(b); line > 0 {
		return &Error{Line: line, Msg: "holds what looks like " + what + secretAdvice}
	}
	root, err := parse(b)
	if err != nil || root == nil {
		return err
	}
	if err := scanTree(root, ""); err != nil {
		return err
	}
	m, err := newConverter(root).mapping(root, "")
	if err != nil {
		return err
	}
	maps.Copy(c, m)
	d.root = root
	return nil
}
