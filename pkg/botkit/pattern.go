package botkit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

type elemKind uint8

// The order of the kinds is their precedence: at the first position where
// two patterns differ, a literal word beats a parameter, which beats a rest.
const (
	litElem elemKind = iota
	paramElem
	restElem
)

type elem struct {
	kind elemKind
	text string   // the literal, lowercased, or the parameter's name
	arg  int      // index into pattern.params for parameters and rests
	typ  *argType // a parameter's type
}

// pattern is a parsed command pattern such as "deploy {app} {branch} [to {env}]".
type pattern struct {
	src      string
	required []elem
	optional [][]elem // trailing groups; group i is present only if i-1 is
	params   []string
	types    []*argType // of each parameter; nil for a rest
}

// parsePattern parses src. Grammar, by space-separated words:
//
//	literal      a word without {}[]<>|&, matched without regard to ASCII case
//	{name}       exactly one word, bound to name
//	{name:type}  one word of a type (see parseArgType): name, plain, int,
//	             N..M, duration, user, channel, or choices a|b|c
//	{name...}    one or more words, the rest of the message; last only
//	[ ... ]      an optional group of the above, trailing only, not nested
//
// The first word is a literal: it names the command.
func parsePattern(src string) (*pattern, error) {
	p := &pattern{src: src}
	words := strings.Fields(strings.NewReplacer("[", " [ ", "]", " ] ").Replace(src))
	if len(words) == 0 {
		return nil, fmt.Errorf("empty pattern")
	}
	var group []elem
	inGroup, restSeen := false, false
	seen := map[string]bool{}
	for _, w := range words {
		switch {
		case w == "[":
			if inGroup {
				return nil, fmt.Errorf("nested [ in %q", src)
			}
			if restSeen {
				return nil, fmt.Errorf("nothing may follow a {rest...} parameter in %q", src)
			}
			inGroup, group = true, nil
			continue
		case w == "]":
			if !inGroup {
				return nil, fmt.Errorf("unbalanced ] in %q", src)
			}
			if len(group) == 0 {
				return nil, fmt.Errorf("empty optional group [] in %q", src)
			}
			inGroup = false
			p.optional = append(p.optional, group)
			continue
		}
		if restSeen {
			return nil, fmt.Errorf("nothing may follow a {rest...} parameter in %q", src)
		}
		e, err := parseElem(w, len(p.params))
		if err != nil {
			return nil, fmt.Errorf("%w in %q", err, src)
		}
		if e.kind != litElem {
			if seen[e.text] {
				return nil, fmt.Errorf("parameter {%s} appears twice in %q", e.text, src)
			}
			seen[e.text] = true
			p.params = append(p.params, e.text)
			p.types = append(p.types, e.typ)
			restSeen = e.kind == restElem
		}
		switch {
		case inGroup:
			group = append(group, e)
		case len(p.optional) > 0:
			return nil, fmt.Errorf("required word %q after an optional group in %q; optional groups must come last", w, src)
		default:
			p.required = append(p.required, e)
		}
	}
	if inGroup {
		return nil, fmt.Errorf("unclosed [ in %q", src)
	}
	if len(p.required) == 0 || p.required[0].kind != litElem {
		return nil, fmt.Errorf("pattern %q must start with a literal word, the command's name", src)
	}
	return p, nil
}

func parseElem(w string, argIndex int) (elem, error) {
	if strings.HasPrefix(w, "{") {
		if !strings.HasSuffix(w, "}") {
			return elem{}, fmt.Errorf("unclosed parameter %q", w)
		}
		name := w[1 : len(w)-1]
		if n, ok := strings.CutSuffix(name, "..."); ok {
			if !validParamName(n) {
				return elem{}, fmt.Errorf("bad parameter name %q (want lowercase letters, digits and _, starting with a letter)", n)
			}
			return elem{kind: restElem, text: n, arg: argIndex}, nil
		}
		name, spec, typed := strings.Cut(name, ":")
		if !validParamName(name) {
			return elem{}, fmt.Errorf("bad parameter name %q (want lowercase letters, digits and _, starting with a letter)", name)
		}
		if typed && spec == "" {
			return elem{}, fmt.Errorf("parameter {%s:} has an empty type", name)
		}
		typ, err := parseArgType(spec)
		if err != nil {
			return elem{}, fmt.Errorf("parameter {%s}: %w", name, err)
		}
		return elem{kind: paramElem, text: name, arg: argIndex, typ: typ}, nil
	}
	if strings.ContainsAny(w, "{}[]<>|&") {
		return elem{}, fmt.Errorf("bad literal word %q", w)
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '!' || w[i] > '~' {
			return elem{}, fmt.Errorf("literal word %q must be printable ASCII", w)
		}
	}
	return elem{kind: litElem, text: strings.ToLower(w)}, nil
}

func validParamName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// name is the command's first word.
func (p *pattern) name() string { return p.required[0].text }

// alternatives expands the optional groups: "a [b] [c]" gives a, a b, a b c.
func (p *pattern) alternatives() [][]elem {
	alts := [][]elem{p.required}
	cur := p.required
	for _, g := range p.optional {
		cur = append(slices.Clip(cur), g...)
		alts = append(alts, cur)
	}
	return alts
}

// usage renders the pattern for people: {app} becomes <app>, escaped for
// Slack, since angle brackets are what help conventionally shows.
func (p *pattern) usage() string {
	var b strings.Builder
	write := func(es []elem) {
		for i, e := range es {
			if i > 0 {
				b.WriteByte(' ')
			}
			switch e.kind {
			case litElem:
				b.WriteString(e.text)
			case paramElem:
				b.WriteString("&lt;" + Escape(e.typ.shape(e.text)) + "&gt;")
			case restElem:
				b.WriteString("&lt;" + e.text + "...&gt;")
			}
		}
	}
	write(p.required)
	for _, g := range p.optional {
		b.WriteString(" [")
		write(g)
		b.WriteByte(']')
	}
	return b.String()
}

// route is one alternative of one command's pattern.
type route struct {
	cmd   *Command
	elems []elem
}

// compareRoutes orders routes by precedence, most specific first. Two routes
// compare equal exactly when some message matches both with the same
// precedence, which makes them ambiguous.
func compareRoutes(a, b route) int {
	for i := range min(len(a.elems), len(b.elems)) {
		ea, eb := a.elems[i], b.elems[i]
		if c := cmp.Compare(ea.kind, eb.kind); c != 0 {
			return c
		}
		if ea.kind == litElem {
			if c := strings.Compare(ea.text, eb.text); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a.elems), len(b.elems))
}

// match reports whether the tokens of s match r, and binds the words of the
// arguments, as typed, into args (which has one slot per parameter of r's
// command); bind turns them into values.
func (r route) match(s string, toks []span, args []string) bool {
	n := len(r.elems)
	rest := r.elems[n-1].kind == restElem
	if len(toks) != n && (!rest || len(toks) < n) {
		return false
	}
	for i, e := range r.elems {
		if e.kind == litElem && !asciiEqualFold(s[toks[i].start:toks[i].end], e.text) {
			return false
		}
	}
	for i, e := range r.elems {
		switch e.kind {
		case paramElem:
			args[e.arg] = s[toks[i].start:toks[i].end]
		case restElem:
			args[e.arg] = s[toks[i].start:]
		}
	}
	return true
}

// ArgError is a word that does not fit its argument's type, such as "lİve"
// for {env:name}: the user is told which argument and why.
type ArgError struct {
	Param string // the parameter's name
	Word  string // what was typed
	Err   error  // why it does not fit
}

func (e *ArgError) Error() string { return fmt.Sprintf("%s %q %v", e.Param, e.Word, e.Err) }

// Unwrap returns the reason.
func (e *ArgError) Unwrap() error { return e.Err }

// bind turns the words match bound into values, in place: each typed
// parameter's canonical value, rests and untyped words with Slack markup
// decoded. Optional parameters left out stay "".
func (p *pattern) bind(args []string) error {
	for i, w := range args {
		if w == "" {
			continue
		}
		t := p.types[i]
		if t == nil {
			args[i] = decode(w)
			continue
		}
		v, err := t.canonical(w)
		if err != nil {
			return &ArgError{Param: p.params[i], Word: w, Err: err}
		}
		args[i] = v
	}
	return nil
}
