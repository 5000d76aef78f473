package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"
)

// keyInfo is what the loader knows of one key written in the file.
type keyInfo struct {
	line  int
	value *yaml.Node
	typ   reflect.Type // what the config struct wants there; nil for an unknown key
}

// keyIndex maps each key of the file, normalised by normKey, to where it is
// and what it should hold, so that an error about a key can say its line
// and its expected type.
type keyIndex map[string]keyInfo

// normKey makes the names mapstructure gives (apps[api].envs[0]) and those
// Validate methods write (apps.api.envs) comparable: dotted and lowercase,
// as viper lowercases keys.
func normKey(key string) string {
	key = bracketsToDots.Replace(key)
	return strings.ToLower(strings.TrimPrefix(key, "."))
}

var bracketsToDots = strings.NewReplacer("[", ".", "]", "")

// lookup finds key, or else the nearest enclosing key the file writes,
// and the key it found, spelt as given.
func (idx keyIndex) lookup(key string) (keyInfo, string, bool) {
	k := normKey(key)
	for {
		if info, ok := idx[k]; ok {
			return info, key, true
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 || key == "" {
			return keyInfo{}, key, false
		}
		k, key = k[:i], parentKey(key)
	}
}

// parentKey drops the last segment of a key: ".name" or "[name]".
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// indexKeys walks the file's tree along the config struct's type t.
func indexKeys(root *yaml.Node, t reflect.Type) keyIndex {
	idx := keyIndex{}
	if root != nil {
		idx.walk(root, t, "", map[reflect.Type]map[string]reflect.Type{})
	}
	return idx
}

func (idx keyIndex) walk(n *yaml.Node, t reflect.Type, name string, fields map[reflect.Type]map[string]reflect.Type) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias // the converter has refused cycles and bombs
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != timeType && n.Kind == yaml.MappingNode:
		fs, ok := fields[t]
		if !ok {
			fs = structFields(t)
			fields[t] = fs
		}
		idx.pairs(n, name, func(key string) reflect.Type { return fs[key] }, fields)
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		idx.pairs(n, name, func(string) reflect.Type { return t.Elem() }, fields)
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			child := name + "." + strconv.Itoa(i)
			idx[strings.TrimPrefix(child, ".")] = keyInfo{line: e.Line, value: e, typ: t.Elem()}
			idx.walk(e, t.Elem(), child, fields)
		}
	}
}

// pairs indexes a mapping's keys, then those it merges (<<) that it does
// not set itself.
func (idx keyIndex) pairs(n *yaml.Node, name string, typeOf func(string) reflect.Type, fields map[reflect.Type]map[string]reflect.Type) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			merges = append(merges, v)
			continue
		}
		key := strings.ToLower(k.Value)
		child := strings.TrimPrefix(name+"."+key, ".")
		if _, done := idx[child]; done {
			continue
		}
		typ := typeOf(key)
		idx[child] = keyInfo{line: k.Line, value: v, typ: typ}
		if typ != nil {
			idx.walk(v, typ, child, fields)
		}
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			if s.Kind == yaml.AliasNode {
				s = s.Alias
			}
			if s.Kind == yaml.MappingNode {
				idx.pairs(s, name, typeOf, fields)
			}
		}
	}
}

var timeType = reflect.TypeFor[time.Time]()

// structFields maps the keys of struct type t to their types, as
// mapstructure matches them: by yaml tag, embedded ",inline" structs
// flattened.
func structFields(t reflect.Type) map[string]reflect.Type {
	fs := map[string]reflect.Type{}
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
			for k, v := range structFields(ft) {
				fs[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs[strings.ToLower(name)] = f.Type
	}
	return fs
}

// leaf is a key an environment variable can set.
type leaf struct {
	key string
	typ reflect.Type
}

// leafKeys lists the dotted keys of t's fields that hold a value an
// environment variable can set: not structs (their fields are listed) and
// not maps (their keys are data).
func leafKeys(t reflect.Type, prefix string) []leaf {
	var keys []leaf
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
		case ft.Kind() == reflect.Struct && ft != timeType:
			keys = append(keys, leafKeys(ft, key+".")...)
		case ft.Kind() == reflect.Map:
		default:
			keys = append(keys, leaf{key, f.Type})
		}
	}
	return keys
}

// envKeys returns the keys whose variable is EnvPrefix+suffix. Two keys can
// share one (state.dir and state_dir): the variable sets both, since
// setting the first silently would leave the other's reader with the file's
// value.
func envKeys(keys []leaf, suffix string) []leaf {
	var out []leaf
	for _, k := range keys {
		if envName(k.key) == strings.ToUpper(suffix) {
			out = append(out, k)
		}
	}
	return out
}

func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

func envNames(keys []leaf) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = EnvPrefix + envName(k.key)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// typeName says in words what a value of type t is written as.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "a duration such as 90s or 5m"
	case timeType:
		return "a date and time such as 2026-01-02T15:04:05Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + plural(t.Elem())
	case reflect.Map:
		return "a mapping of names to " + plural(t.Elem())
	case reflect.Struct:
		return "a mapping of keys"
	}
	return "a " + t.String()
}

func plural(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "durations"
	case timeType:
		return "dates"
	}
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Bool:
		return "true or false values"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole numbers"
	case reflect.Float32, reflect.Float64:
		return "numbers"
	case reflect.Slice, reflect.Array:
		return "lists"
	case reflect.Map, reflect.Struct:
		return "mappings"
	}
	return "values"
}

// decodeErrors turns mapstructure's errors into one *Error per value that
// did not fit, each naming its key, its line and the type it should be.
func decodeErrors(err error, idx keyIndex, fromEnv map[string]envValue) []*Error {
	leaves := decodeLeaves(err)
	if len(leaves) == 0 {
		return []*Error{{Msg: strings.ReplaceAll(err.Error(), "\n", "; "), Err: err}}
	}
	var res []*Error
	for _, de := range leaves {
		e := &Error{Key: de.Name(), Err: de}
		var want, got string
		if ev, ok := fromEnv[normKey(de.Name())]; ok {
			want, got = typeName(ev.typ), quote(ev.value)+" (from "+ev.name+")"
		} else if info, key, ok := idx.lookup(de.Name()); ok && info.typ != nil {
			e.Line, e.Key, want, got = info.line, key, typeName(info.typ), describe(info.value)
		}
		switch {
		case want == "":
			e.Msg = strings.TrimPrefix(de.Unwrap().Error(), "'"+de.Name()+"' ")
		case outOfRange(de):
			e.Msg = fmt.Sprintf("want %s, got %s, out of range", want, got)
		default:
			e.Msg = fmt.Sprintf("want %s, got %s", want, got)
		}
		res = append(res, e)
	}
	return res
}

// outOfRange reports whether err is about a number too large for its type.
// mapstructure's ParseError does not unwrap, so look inside it.
func outOfRange(err error) bool {
	var pe *mapstructure.ParseError
	return errors.As(err, &pe) && errors.Is(pe.Err, strconv.ErrRange)
}

// decodeLeaves collects the innermost named errors of a decode: each names
// the key of one value that did not fit.
func decodeLeaves(err error) []*mapstructure.DecodeError {
	var res []*mapstructure.DecodeError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		de, ok := err.(*mapstructure.DecodeError)
		if !ok {
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner) // viper's "decoding failed due to the following error(s)"
			}
			return
		}
		var inner *mapstructure.DecodeError
		if errors.As(de.Unwrap(), &inner) {
			walk(de.Unwrap())
			return
		}
		res = append(res, de)
	}
	walk(err)
	slices.SortFunc(res, func(a, b *mapstructure.DecodeError) int { return strings.Compare(a.Name(), b.Name()) })
	return res
}

// envValue is a key set from the environment.
type envValue struct {
	name, value string
	typ         reflect.Type
}
