package botkit

import (
	"slices"
	"strings"
	"testing"
)

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"ping", "deploy {app} {branch} [to {env}]", "history [{app}] [{env}]", "echo {text...}",
		"a [b [c]]", "{x}", "a {b", "a []", "run {a...} [x]", "x ] [", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := parsePattern(src)
		if err != nil {
			return
		}
		if p.required[0].kind != litElem {
			t.Fatalf("%q parsed without a leading literal", src)
		}
		// Every alternative of a valid pattern must be registrable alone.
		b := New("f")
		func() {
			defer func() {
				if v := recover(); v != nil && !strings.Contains(v.(string), "help") && !strings.Contains(v.(string), "two ways") {
					t.Fatalf("Command(%q) panicked on a pattern parsePattern accepted: %v", src, v)
				}
			}()
			b.Command(src, nop)
		}()
	})
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"deploy api main to dev", "<@UBOT> echo hi", "echo <https://x|a b>", "history", "&lt;&gt;&amp;",
		"<@U1|x", "\u00a0deploy\u00a0", "\x00\x01", strings.Repeat("x ", 100), "<<<>>>", "deploy <@U1> <#C1|c>",
	} {
		f.Add(s)
	}
	b := New("f")
	for _, p := range []string{
		"deploy {app} {branch} [to {env}]", "deploy {app} main", "history [{app}] [{env}]",
		"echo {text...}", "run {a} {b}", "run {rest...}",
		"ship {app:name} {ref:plain} [to {env:dev|prd}]", "wait {n:1..60} {d:duration}", "page {who:user} {where:channel}",
	} {
		b.Command(p, nop)
	}
	f.Fuzz(func(t *testing.T, text string) {
		norm := stripMention(normalize(text))
		if normalize(norm) != norm {
			t.Fatalf("normalize is not idempotent on %q", text)
		}
		cmd, args := b.match(norm)
		if cmd == nil {
			return
		}
		if len(args) != len(cmd.Params()) {
			t.Fatalf("%q matched %q with %d args, want %d", norm, cmd.Pattern(), len(args), len(cmd.Params()))
		}
		words := slices.Clone(args)
		if err := cmd.pat.bind(args); err == nil {
			for i, v := range args {
				typ := cmd.pat.types[i]
				if typ == nil || typ.kind == "word" || v == "" {
					continue
				}
				// A canonical value is its own canonical form, and a
				// name is ASCII lowercase.
				if again, err := typ.canonical(v); err != nil || again != v && typ.kind != "plain" {
					t.Fatalf("%q: %s value %q (from %q) is not canonical: %q, %v", norm, typ.kind, v, words[i], again, err)
				}
				if typ.kind == "name" && v != strings.ToLower(v) {
					t.Fatalf("%q: name %q is not lowercase", norm, v)
				}
			}
		}
		_ = b.notFound(norm)
		_ = b.HelpCommand(norm)
	})
}
