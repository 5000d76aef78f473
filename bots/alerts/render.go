package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// keyLabels are shown for each alert, in this order, when they are not
// common to the group (the header shows those).
var keyLabels = []string{"alertname", "severity", "team", "env", "namespace", "instance", "job", "pod", "service"}

// maxAlertsShown bounds the alerts listed in a group's message: a message
// holds at most 50 blocks and 3,000 characters a section.
const maxAlertsShown = 15

// IDs of the buttons and the custom silence modal.
const (
	actionAck       = "alerts_ack"
	actionSilence   = "alerts_silence"        // value: <group id>/<duration>
	actionSilenceC  = "alerts_silence_custom" // opens the modal
	actionUnsilence = "alerts_unsilence"
	viewSilence     = "alerts_silence_form"
	blockDuration   = "silence_duration"
	blockComment    = "silence_comment"
)

// render is a group's message as Slack shows it.
func render(g *group) botkit.Message {
	icon, state := "🔴", "FIRING"
	if g.status == am.Resolved {
		icon, state = "✅", "RESOLVED"
	}
	firing := 0
	for _, a := range g.alerts {
		if a.Status == am.Firing {
			firing++
		}
	}
	title := fmt.Sprintf("%s *%s* %s", icon, state, botkit.Escape(groupTitle(g)))
	if g.status == am.Firing {
		title += fmt.Sprintf(" — %d firing", firing)
		if r := len(g.alerts) - firing; r > 0 {
			title += fmt.Sprintf(", %d resolved", r)
		}
	}
	header := title + "\n" + botkit.Escape(labelLine(g.labels, nil))
	if s := g.annotations["summary"]; s != "" {
		header += "\n" + botkit.Escape(s)
	}
	if rb := g.annotations["runbook_url"]; rb != "" {
		header += "\n<" + rb + "|Runbook>"
	}
	blocks := []slack.Block{section(header)}

	var lines []string
	for i, a := range g.alerts {
		if i == maxAlertsShown {
			lines = append(lines, fmt.Sprintf("… and %d more", len(g.alerts)-maxAlertsShown))
			break
		}
		lines = append(lines, alertLine(a, g))
	}
	if g.truncated > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more Alertmanager did not send", g.truncated))
	}
	if len(lines) > 0 {
		blocks = append(blocks, section(strings.Join(lines, "\n")))
	}

	var status []string
	if g.ackBy != "" {
		status = append(status, "👀 Acknowledged by <@"+g.ackBy+">")
	}
	for _, s := range g.silences {
		if s.until.Before(time.Now()) {
			continue // ended by itself
		}
		status = append(status, fmt.Sprintf("🔕 Silenced by <@%s> until %s (`%s`)", s.by, s.until.UTC().Format("Jan 2 15:04 MST"), s.id))
	}
	if len(status) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, strings.Join(status, " · "), false, false)))
	}
	if g.status == am.Firing {
		blocks = append(blocks, actions(g))
	}
	// The text is the notification's and the console's: the header and
	// the alerts, without the buttons.
	text := header
	if len(lines) > 0 {
		text += "\n" + strings.Join(lines, "\n")
	}
	return botkit.Message{Channel: g.channel, Text: text, Blocks: blocks}
}

// maxSection is under Slack's 3,000 characters of a section's text.
const maxSection = 2900

func section(text string) slack.Block {
	if len(text) > maxSection {
		cut := maxSection
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// actions are a firing group's actions; each carries the group's id.
func actions(g *group) slack.Block {
	btn := func(id, value, text string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement(id, value, slack.NewTextBlockObject(slack.PlainTextType, text, false, false))
	}
	els := []slack.BlockElement{}
	if g.ackBy == "" {
		els = append(els, btn(actionAck, g.id, "Acknowledge"))
	}
	els = append(els,
		btn(actionSilence+"_1h", g.id+"/1h", "Silence 1h"),
		btn(actionSilence+"_4h", g.id+"/4h", "Silence 4h"),
		btn(actionSilenceC, g.id, "Silence…"))
	if len(g.silences) > 0 {
		els = append(els, btn(actionUnsilence, g.id, "Unsilence"))
	}
	return slack.NewActionBlock("alerts_"+g.id, els...)
}

// groupTitle names a group by the labels it is grouped by.
func groupTitle(g *group) string {
	if n := g.groupLabels["alertname"]; n != "" {
		return strings.TrimSpace(n + " " + labelLine(g.groupLabels, []string{"alertname"}))
	}
	if len(g.groupLabels) > 0 {
		return labelLine(g.groupLabels, nil)
	}
	return g.labels["alertname"]
}

// labelLine is key labels first, then the rest, as k=v.
func labelLine(ls map[string]string, skip []string) string {
	var parts []string
	for _, k := range keyLabels {
		if v, ok := ls[k]; ok && !slices.Contains(skip, k) {
			parts = append(parts, k+"="+v)
		}
	}
	var rest []string
	for k, v := range ls {
		if !slices.Contains(keyLabels, k) && !slices.Contains(skip, k) {
			rest = append(rest, k+"="+v)
		}
	}
	slices.Sort(rest)
	return strings.Join(append(parts, rest...), " ")
}

// alertLine is one alert: its key labels beyond the group's, summary and
// runbook.
func alertLine(a am.Alert, g *group) string {
	icon := "🔴"
	if a.Status == am.Resolved {
		icon = "✅"
	}
	s := icon + " " + botkit.Escape(describe(a, g.labels, g.annotations))
	if rb := a.Annotations["runbook_url"]; rb != "" && rb != g.annotations["runbook_url"] {
		s += " <" + rb + "|runbook>"
	}
	if !a.StartsAt.IsZero() {
		s += " · since " + a.StartsAt.UTC().Format(time.TimeOnly)
	}
	return s
}

// describe is an alert in one line: the key labels the group does not
// share, and its summary.
func describe(a am.Alert, common, commonAnn map[string]string) string {
	var parts []string
	for _, k := range keyLabels {
		if v, ok := a.Labels[k]; ok && common[k] != v {
			parts = append(parts, k+"="+v)
		}
	}
	d := strings.Join(parts, " ")
	if d == "" {
		d = a.Labels["alertname"]
	}
	if s := a.Annotations["summary"]; s != "" && s != commonAnn["summary"] {
		d += ": " + s
	}
	return d
}
