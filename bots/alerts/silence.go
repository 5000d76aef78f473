package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// register adds the buttons, the silence form and the commands.
func (a *bot) register(b *botkit.Bot) {
	b.Action(actionAck, a.ack)
	b.Action(actionSilence+"_1h", a.silenceClick)
	b.Action(actionSilence+"_4h", a.silenceClick)
	b.Action(actionSilenceC, a.openSilenceForm)
	b.View(viewSilence, a.submitSilenceForm)
	b.Action(actionUnsilence, a.unsilence)

	b.Command("alerts", a.listAlerts, botkit.Describe("List the alerts firing now, neither silenced nor inhibited"))
	b.Command("silences", a.listSilences, botkit.Describe("List the active silences, with who made them and until when"))
	b.Command("silence {spec...}", a.silenceCmd, botkit.Describe("Silence the alerts matching the matchers for a while"),
		botkit.Example("silence alertname=HighLatency env=dev for 2h deploying the fix"))
	b.Command("expire {id}", a.expireCmd, botkit.Describe("End a silence now"), botkit.Example("expire 0f4e6d2c-3b1a-4a8e-9c55-1d2e3f4a5b6c"))
}

// unavailable is what a user is told when Alertmanager cannot be reached or
// fails; nothing the bot did is lost, and the user knows to try again.
func unavailable(err error, what string) error {
	return &botkit.UserError{Msg: fmt.Sprintf("Alertmanager is unavailable, so %s; try again in a minute. (%s)", what, botkit.Escape(err.Error())), Err: err}
}

// amError turns an Alertmanager error into what the user is told.
func amError(err error, what string) error {
	if am.Unavailable(err) {
		return unavailable(err, what)
	}
	var ae *am.Error
	if errors.As(err, &ae) {
		return &botkit.UserError{Msg: "Alertmanager refused it: " + botkit.Escape(ae.Body), Err: err}
	}
	return err
}

func (a *bot) ack(ctx context.Context, req *botkit.Request) error {
	id := req.Action().Value
	if !a.board.update(ctx, id, "👀 Acknowledged by <@"+req.User+">", func(g *group) { g.ackBy = req.User }) {
		return botkit.Userf("I no longer know this alert group; I may have restarted. It is updated when Alertmanager next notifies.")
	}
	return nil
}

// groupMatchers are the matchers that silence a group: its common labels.
func groupMatchers(g group) []am.Matcher {
	ls := g.labels
	if len(ls) == 0 {
		ls = g.groupLabels
	}
	var ms []am.Matcher
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		ms = append(ms, am.Matcher{Name: k, Value: ls[k], IsEqual: true})
	}
	return ms
}

func (a *bot) silenceClick(ctx context.Context, req *botkit.Request) error {
	id, dur, _ := strings.Cut(req.Action().Value, "/")
	d, err := am.ParseDuration(dur)
	if err != nil {
		return err
	}
	_, err = a.silenceGroup(ctx, req.User, id, d, "")
	return err
}

// silenceGroup silences the group id for d on behalf of user and shows it on
// the group's message.
func (a *bot) silenceGroup(ctx context.Context, user, id string, d time.Duration, comment string) (string, error) {
	g, ok := a.board.snapshot(id)
	if !ok {
		return "", botkit.Userf("I no longer know this alert group; I may have restarted. Use `silence <matchers> for <duration>`.")
	}
	ms := groupMatchers(g)
	if len(ms) == 0 {
		return "", botkit.Userf("This group has no labels in common to silence it by; use `silence <matchers> for <duration>`.")
	}
	if err := a.maySilence(ctx, user, am.Equalities(ms)); err != nil {
		return "", err
	}
	if comment == "" {
		comment = "from Slack: " + groupTitle(&g)
	}
	c, err := a.client()
	if err != nil {
		return "", err
	}
	now := time.Now()
	sid, err := c.CreateSilence(ctx, am.Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(d), CreatedBy: user, Comment: comment})
	if err != nil {
		return "", amError(err, "the alerts may not be silenced (check with `silences`)")
	}
	until := now.Add(d)
	a.board.update(ctx, id, fmt.Sprintf("🔕 Silenced for %s by <@%s> (`%s`)", d, user, sid), func(g *group) {
		g.silences = append(g.silences, silenceNote{id: sid, by: user, until: until})
	})
	return sid, nil
}

func (a *bot) openSilenceForm(ctx context.Context, req *botkit.Request) error {
	id := req.Action().Value
	g, ok := a.board.snapshot(id)
	if !ok {
		return botkit.Userf("I no longer know this alert group; I may have restarted.")
	}
	dur := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "2h", false, false), "value")
	dur.InitialValue = "2h"
	comment := slack.NewPlainTextInputBlockElement(nil, "value")
	commentBlock := slack.NewInputBlock(blockComment, slack.NewTextBlockObject(slack.PlainTextType, "Why", false, false), nil, comment)
	commentBlock.Optional = true
	_, err := req.OpenView(ctx, slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: viewSilence, PrivateMetadata: id,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Silence", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Silence", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section("Silence *" + botkit.Escape(groupTitle(&g)) + "*: " + botkit.Escape(labelLine(g.labels, nil))),
			slack.NewInputBlock(blockDuration, slack.NewTextBlockObject(slack.PlainTextType, "For how long (90m, 2h, 1d)", false, false), nil, dur),
			commentBlock,
		}},
	})
	return err
}

// formBudget bounds the Alertmanager call of a submitted form: its answer
// goes in Slack's acknowledgement (botkit.AnswerBudget).
const formBudget = 2 * time.Second

func (a *bot) submitSilenceForm(ctx context.Context, req *botkit.Request) error {
	d, err := am.ParseDuration(strings.TrimSpace(req.Field(blockDuration)))
	if err != nil {
		return botkit.FieldErrors{blockDuration: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, formBudget)
	defer cancel()
	if _, err := a.silenceGroup(ctx, req.User, req.Submission().PrivateMetadata, d, strings.TrimSpace(req.Field(blockComment))); err != nil {
		if ue, ok := botkit.AsUserError(err); ok {
			return botkit.FieldErrors{blockDuration: ue.Msg}
		}
		return err
	}
	return nil
}

func (a *bot) unsilence(ctx context.Context, req *botkit.Request) error {
	id := req.Action().Value
	g, ok := a.board.snapshot(id)
	if !ok {
		return botkit.Userf("I no longer know this alert group; use `silences` and `expire <id>`.")
	}
	if err := a.maySilence(ctx, req.User, am.Equalities(groupMatchers(g))); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var done []string
	for _, s := range g.silences {
		if err := c.ExpireSilence(ctx, s.id); err != nil {
			a.forget(ctx, id, done, req.User)
			return amError(err, "some silences are still on (check with `silences`)")
		}
		done = append(done, s.id)
	}
	a.forget(ctx, id, done, req.User)
	return nil
}

// forget removes expired silences from a group's message.
func (a *bot) forget(ctx context.Context, id string, expired []string, user string) {
	if len(expired) == 0 {
		return
	}
	a.board.update(ctx, id, "🔔 Unsilenced by <@"+user+">", func(g *group) {
		g.silences = slices.DeleteFunc(g.silences, func(s silenceNote) bool { return slices.Contains(expired, s.id) })
	})
}

func (a *bot) listSilences(ctx context.Context, req *botkit.Request) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ss, err := c.Silences(ctx)
	if err != nil {
		return amError(err, "I cannot list the silences")
	}
	ss = slices.DeleteFunc(ss, func(s am.Silence) bool { return s.State() == "expired" })
	if len(ss) == 0 {
		_, err := req.Reply(ctx, "No active silences.")
		return err
	}
	slices.SortFunc(ss, func(x, y am.Silence) int { return x.EndsAt.Compare(y.EndsAt) })
	var b strings.Builder
	fmt.Fprintf(&b, "%d active silences:\n", len(ss))
	for _, s := range ss {
		var ms []string
		for _, m := range s.Matchers {
			ms = append(ms, m.String())
		}
		fmt.Fprintf(&b, "• `%s` %s — by %s until %s", s.ID, botkit.Escape(strings.Join(ms, " ")), who(s.CreatedBy),
			s.EndsAt.UTC().Format("Jan 2 15:04 MST"))
		if s.Comment != "" {
			b.WriteString(": " + botkit.Escape(s.Comment))
		}
		b.WriteString("\n")
	}
	_, err = req.Reply(ctx, b.String())
	return err
}

// who shows a silence's author: a mention when it is a Slack user.
func who(createdBy string) string {
	if userIDRE.MatchString(createdBy) {
		return "<@" + createdBy + ">"
	}
	return botkit.Escape(createdBy)
}

func (a *bot) silenceCmd(ctx context.Context, req *botkit.Request) error {
	spec := req.Arg("spec")
	matchers, rest, ok := strings.Cut(spec, " for ")
	if !ok {
		return botkit.Userf("Say for how long: `silence <matchers> for <duration> [comment]`, e.g. `silence alertname=HighLatency env=dev for 2h deploying the fix`.")
	}
	ms, err := am.ParseMatchers(matchers)
	if err != nil {
		return botkit.Userf("%s", botkit.Escape(err.Error()))
	}
	dur, comment, _ := strings.Cut(strings.TrimSpace(rest), " ")
	d, err := am.ParseDuration(dur)
	if err != nil {
		return botkit.Userf("%s", botkit.Escape(err.Error()))
	}
	if err := a.maySilence(ctx, req.User, am.Equalities(ms)); err != nil {
		return err
	}
	comment = strings.TrimSpace(comment)
	if comment == "" {
		comment = "from Slack"
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	now := time.Now()
	id, err := c.CreateSilence(ctx, am.Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(d), CreatedBy: req.User, Comment: comment})
	if err != nil {
		return amError(err, "the alerts may not be silenced (check with `silences`)")
	}
	_, err = req.Replyf(ctx, "🔕 Silenced until %s: `%s`", now.Add(d).UTC().Format("Jan 2 15:04 MST"), id)
	return err
}

func (a *bot) expireCmd(ctx context.Context, req *botkit.Request) error {
	id := req.Arg("id")
	c, err := a.client()
	if err != nil {
		return err
	}
	ss, err := c.Silences(ctx)
	if err != nil {
		return amError(err, "the silence is still on")
	}
	i := slices.IndexFunc(ss, func(s am.Silence) bool { return s.ID == id })
	if i < 0 || ss[i].State() == "expired" {
		return botkit.Userf("No active silence `%s`; `silences` lists them.", botkit.Escape(id))
	}
	if err := a.maySilence(ctx, req.User, am.Equalities(ss[i].Matchers)); err != nil {
		return err
	}
	if err := c.ExpireSilence(ctx, id); err != nil {
		return amError(err, "the silence is still on")
	}
	a.board.forgetSilence(ctx, id, req.User)
	_, err = req.Replyf(ctx, "🔔 Silence `%s` expired.", botkit.Escape(id))
	return err
}

// maxAlertLines bounds the `alerts` answer.
const maxAlertLines = 30

func (a *bot) listAlerts(ctx context.Context, req *botkit.Request) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	as, err := c.Alerts(ctx)
	if err != nil {
		return amError(err, "I cannot list the alerts")
	}
	if len(as) == 0 {
		_, err := req.Reply(ctx, "Nothing is firing. 🎉")
		return err
	}
	slices.SortFunc(as, func(x, y am.GettableAlert) int {
		return strings.Compare(labelString(x.Labels), labelString(y.Labels))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d alerts firing:\n", len(as))
	for i, al := range as {
		if i == maxAlertLines {
			fmt.Fprintf(&b, "… and %d more (%s)\n", len(as)-maxAlertLines, c.URL())
			break
		}
		line := "• " + botkit.Escape(labelLine(al.Labels, nil))
		if s := al.Annotations["summary"]; s != "" {
			line += ": " + botkit.Escape(s)
		}
		fmt.Fprintf(&b, "%s · since %s\n", line, al.StartsAt.UTC().Format("Jan 2 15:04 MST"))
	}
	_, err = req.Reply(ctx, b.String())
	return err
}
