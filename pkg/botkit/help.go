package botkit

import (
	"fmt"
	"strings"
	"time"
)

// helpFor answers "help", "help all" and "help <command>"; ok is false
// for other text. The list shows only the commands the user may run, as
// the access policy decides.
func (s *session) helpFor(ev Event, text string) (reply string, ok bool) {
	b := s.rt.bot
	word, rest, _ := strings.Cut(text, " ")
	if !asciiEqualFold(word, "help") {
		return "", false
	}
	switch {
	case rest == "":
		return b.help(func(c *Command) bool { return s.rt.policy.mayList(s.ctx, s.tr, c, ev.User, ev.Channel) }) + b.jobsHelp(s.rt.now(), s.rt.timing), true
	case asciiEqualFold(rest, "all"):
		return b.Help() + b.jobsHelp(s.rt.now(), s.rt.timing), true
	}
	return b.HelpCommand(rest), true
}

// Help returns the generated list of every command, as "help all" shows it,
// then the scheduled jobs with their cron expressions (help in Slack adds
// each one's next run).
func (b *Bot) Help() string { return b.help(nil) + b.jobsHelp(time.Time{}, nil) }

// jobsHelp lists the scheduled jobs, with their cron expressions as timingOf
// says (nil: as registered) and their next run after now unless now is
// zero; "" when there are none.
func (b *Bot) jobsHelp(now time.Time, timingOf func(*Job) *timing) string {
	if len(b.jobs) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("\n*Scheduled jobs*:")
	for _, j := range b.jobs {
		tm := j.timing
		if timingOf != nil {
			tm = timingOf(j)
		}
		sb.WriteString("\n• `" + j.name + "`")
		if j.cmd.desc != "" {
			sb.WriteString(" — " + j.cmd.desc)
		}
		sb.WriteString(" (`" + Escape(tm.spec) + "` " + j.loc.String())
		if !now.IsZero() {
			if next := j.next(tm, now); !next.IsZero() {
				sb.WriteString(", next " + next.In(j.loc).Format("Mon 2 Jan 15:04 MST"))
			}
		}
		sb.WriteString(")")
	}
	return sb.String()
}

// help lists the visible commands that show (nil: all) lets through.
func (b *Bot) help(show func(*Command) bool) string {
	var sb strings.Builder
	sb.WriteString("*" + b.name + "* commands (mention me first, e.g. `@" + b.name + " help`):\n")
	left := 0
	for _, c := range b.cmds {
		if c.hidden {
			continue
		}
		if show != nil && !show(c) {
			left++
			continue
		}
		sb.WriteString("• `" + c.Usage() + "`")
		if c.desc != "" {
			sb.WriteString(" — " + c.desc)
		}
		sb.WriteByte('\n')
	}
	sb.WriteString("• `help [&lt;command&gt;]` — this list, or the details of one command")
	if left > 0 {
		fmt.Fprintf(&sb, "\n(%d more you may not run: `help all` lists them.)", left)
	}
	return sb.String()
}

// HelpCommand returns the details of the commands named name (its first
// word, or more words of its pattern), as "help <name>" shows it.
func (b *Bot) HelpCommand(name string) string {
	name = asciiLower(stripMention(normalize(decode(name))))
	var sb strings.Builder
	for _, c := range b.cmds {
		if c.Name() != name && !strings.HasPrefix(asciiLower(c.pat.src), name) {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString("\n\n")
		}
		sb.WriteString("`" + c.Usage() + "`")
		if c.desc != "" {
			sb.WriteString("\n" + c.desc)
		}
		for _, ex := range c.examples {
			sb.WriteString("\n• e.g. `@" + b.name + " " + Escape(ex) + "`")
		}
	}
	if sb.Len() > 0 {
		return sb.String()
	}
	if c := b.closest(name); c != nil {
		return "No command `" + Escape(clip(name, 40)) + "`. Did you mean `" + c.Usage() + "`?"
	}
	return "No command `" + Escape(clip(name, 40)) + "`. Try `help` for the list."
}

// closest returns the visible command whose name is nearest to word, or nil
// when none is near enough to be a likely typo.
func (b *Bot) closest(word string) *Command {
	var best *Command
	bestDist := len(word) + 1
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	for _, c := range b.cmds {
		if c.hidden {
			continue
		}
		name := c.Name()
		d := levenshtein(word, name)
		if len(word) >= 2 && strings.HasPrefix(name, word) {
			d = min(d, 1) // a prefix is a strong hint: "dep" for "deploy"
		}
		if d <= limit && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// levenshtein returns the edit distance between a and b, counting an
// adjacent transposition as one edit (so "dpeloy" is near "deploy").
func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
