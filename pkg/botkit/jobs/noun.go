package jobs

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What users read of jobs names them with Options.Noun ("deploy #7"): a
// bot whose jobs are all deploys never shows the word "job".

// one names job id: "deploy #7".
func (m *Manager) one(id int64) string { return fmt.Sprintf("%s #%d", m.opts.Noun, id) }

// oneFirst names job id at the start of a sentence: "Deploy #7".
func (m *Manager) oneFirst(id int64) string { return capitalize(m.one(id)) }

// many is the noun's plural: "deploys".
func (m *Manager) many() string { return plural(m.opts.Noun) }

// plural is the English plural of a noun made of words: its last word
// takes an s, or es after s, x, z, ch and sh.
func plural(noun string) string {
	for _, end := range []string{"s", "x", "z", "ch", "sh"} {
		if strings.HasSuffix(noun, end) {
			return noun + "es"
		}
	}
	return noun + "s"
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// userID is what a Slack user id looks like.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]+$`)

// who names who cancelled a job: a user as a mention, a word such as
// "shutdown" (CancelledError.By) as it is.
func who(by string) string {
	if userID.MatchString(by) {
		return "<@" + by + ">"
	}
	return by
}

// paramName is a command parameter's name: lowercase letters, digits and
// _, starting with a letter (botkit's patterns).
var paramName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// cancelParam names the parameter of `cancel`, which its usage shows
// (`cancel <deploy>`): the noun when it can be one.
func cancelParam(noun string) string {
	if paramName.MatchString(noun) {
		return noun
	}
	return "job"
}
