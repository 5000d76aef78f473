package botkit

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxCommandText bounds the text a command is parsed from. Slack allows
// 40,000 characters in a message; nobody types a command that long, and
// capping it keeps a hostile message from costing more than a normal one.
const maxCommandText = 4000

// normalize returns s with every run of Unicode white space (including
// non-breaking spaces) folded into one ASCII space, other control characters
// and invalid UTF-8 replaced by U+FFFD, and no leading or trailing space. It
// does not allocate when s is already normal. A control character is
// replaced, not dropped: dropping it would turn "ma\x00in" into "main"
// behind the user's back, while U+FFFD shows, and typed arguments refuse it.
func normalize(s string) string {
	if isNormal(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff':
			space = b.Len() > 0
		case unicode.IsControl(r) || r == utf8.RuneError:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(utf8.RuneError)
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isNormal reports whether normalize(s) == s, looking only at ASCII fast.
func isNormal(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c < ' ' || c == 0x7f {
			return false
		}
		if c == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	return true
}

// stripMention removes a leading user mention (<@U123>, <@U123|name>) and a
// separator after it (":" or ","), as Slack puts the bot's mention first in
// an app_mention. s must be normalized.
func stripMention(s string) string {
	if !strings.HasPrefix(s, "<@") {
		return s
	}
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return s
	}
	rest := s[end+1:]
	rest = strings.TrimPrefix(rest, ":")
	rest = strings.TrimPrefix(rest, ",")
	return strings.TrimPrefix(rest, " ")
}

// span is a token of a normalized message: s[start:end].
type span struct{ start, end int }

// maxTokens bounds how many words a command is split into; a message with
// more words than any pattern can take is simply unmatched.
const maxTokens = 64

// tokenize splits normalized text on spaces into dst, keeping Slack markup
// such as <https://x|a label> together even when its label has spaces. An
// unbalanced '<' is an ordinary character.
func tokenize(s string, dst []span) []span {
	i := 0
	for i < len(s) && len(dst) < maxTokens {
		start := i
		for i < len(s) && s[i] != ' ' {
			if s[i] == '<' {
				if j := strings.IndexByte(s[i:], '>'); j > 0 {
					i += j + 1
					continue
				}
			}
			i++
		}
		dst = append(dst, span{start, i})
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if i < len(s) {
		// Too many words: make the last token swallow the rest, so a message
		// longer than any pattern never matches one by accident.
		dst[len(dst)-1].end = len(s)
	}
	return dst
}

// decode turns Slack markup in an argument into the value a handler wants:
// <@U123> and <@U123|name> become U123, <#C123|general> becomes C123,
// <!subteam^S123|@team> becomes S123, <https://x|x> becomes https://x, and
// &lt; &gt; &amp; are unescaped. Text without markup is returned as is,
// without allocating.
func decode(s string) string {
	if strings.IndexByte(s, '<') < 0 && strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		i := strings.IndexAny(s, "<&")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if s[0] == '&' {
			switch {
			case strings.HasPrefix(s, "&lt;"):
				b.WriteByte('<')
				s = s[4:]
			case strings.HasPrefix(s, "&gt;"):
				b.WriteByte('>')
				s = s[4:]
			case strings.HasPrefix(s, "&amp;"):
				b.WriteByte('&')
				s = s[5:]
			default:
				b.WriteByte('&')
				s = s[1:]
			}
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(decodeLink(s[1:end]))
		s = s[end+1:]
	}
	return b.String()
}

// decodeLink decodes the inside of one <...> markup.
func decodeLink(in string) string {
	target, _, _ := strings.Cut(in, "|")
	switch {
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		return target[1:]
	case strings.HasPrefix(target, "!subteam^"):
		return strings.TrimPrefix(target, "!subteam^")
	case strings.HasPrefix(target, "!"):
		// <!here>, <!channel>, <!date^...|fallback>: keep the readable form.
		if _, label, ok := strings.Cut(in, "|"); ok {
			return label
		}
		return "@" + target[1:]
	default:
		return unescape(target)
	}
}

// unescape undoes Slack's three HTML escapes.
func unescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// Escape makes arbitrary text safe to put in a Slack message: &, < and > are
// escaped so user input can't form mentions or links. It is safe for
// concurrent use.
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
