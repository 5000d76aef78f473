package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AckDeadline is how long Slack waits for the ack of an envelope, or the
// HTTP response to a request: "your app must reply to the HTTP POST request
// with an HTTP 200 OK response… within 3 seconds"
// (docs.slack.dev/interactivity/handling-user-interaction). An answer later
// than that is recorded but not applied: Slack has shown the user an error.
// WithAckDeadline changes it for tests that should not wait three seconds.
const AckDeadline = 3 * time.Second

// WithAckDeadline sets how long the fake waits for an answer it applies
// (see AckDeadline). It panics if d is not positive.
func WithAckDeadline(d time.Duration) Option {
	if d <= 0 {
		panic("slacktest: WithAckDeadline needs a positive duration")
	}
	return func(c *config) { c.ackDeadline = d }
}

// Slack's limits on the options a bot answers a block_suggestion with
// (docs.slack.dev/reference/block-kit/composition-objects/option-object,
// /reference/block-kit/block-elements/select-menu-element).
const (
	maxOptions      = 100
	maxOptionText   = 75
	maxOptionValue  = 150
	maxOptionGroups = 100
)

// Answer is what a bot answered to an interaction, in its ack's payload
// (Socket Mode) or its HTTP response body, as the fake read it, and whether
// Slack would take it. The fake applies an answer Slack takes: a
// view_submission's response_action changes the user's modals, a slash
// command's message is recorded in Messages with Method "ack".
type Answer struct {
	// To a view_submission.
	ResponseAction string            // errors, update, push, clear, or "" (close the submitted modal)
	Errors         map[string]string // response_action errors: message by block_id, shown beside the input
	View           json.RawMessage   // the view of update or push

	// To a block_suggestion.
	Options      []MenuOption
	OptionGroups []MenuGroup

	// To a slash command: a message, ephemeral unless ResponseType is
	// in_channel.
	Text         string
	Blocks       json.RawMessage
	ResponseType string

	// Problem is why Slack would refuse or ignore the answer, "" if it
	// takes it: too late, not JSON, an unknown response_action, an error
	// for a block that is no input, an invalid view, too many options, a
	// payload where Slack reads none…
	Problem string
}

// MenuOption is an option of a select menu, as a bot offers it.
type MenuOption struct {
	Text, Value, Description string
}

// MenuGroup is a labelled group of menu options.
type MenuGroup struct {
	Label   string
	Options []MenuOption
}

func (a Answer) clone() Answer {
	a.Errors = maps.Clone(a.Errors)
	a.Options = slices.Clone(a.Options)
	a.OptionGroups = slices.Clone(a.OptionGroups)
	for i, g := range a.OptionGroups {
		a.OptionGroups[i].Options = slices.Clone(g.Options)
	}
	return a
}

// accepts reports whether Slack reads an answer to a payload of kind.
func accepts(kind string) bool {
	return kind == "view_submission" || kind == "block_suggestion" || kind == "slash_commands"
}

// answerLocked reads the answer body to it, given after latency, and
// applies it if Slack would take it.
func (s *Server) answerLocked(it *interaction, body []byte, latency time.Duration) Answer {
	body = bytes.TrimSpace(body)
	empty := len(body) == 0 || string(body) == "null" || string(body) == "{}"
	var a Answer
	switch {
	case !accepts(it.kind):
		if !empty {
			a.Problem = fmt.Sprintf("ignored: Slack reads no answer to %s", it.kind)
		}
		return a
	case it.kind == "slash_commands" && len(body) > 0 && body[0] != '{':
		a.Text = string(body) // Slack takes a plain-text answer to a slash command as its text
	case !empty:
		var wire struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
			View           json.RawMessage   `json:"view"`
			Options        []wireOption      `json:"options"`
			OptionGroups   []wireGroup       `json:"option_groups"`
			Text           string            `json:"text"`
			Blocks         json.RawMessage   `json:"blocks"`
			ResponseType   string            `json:"response_type"`
		}
		if err := json.Unmarshal(body, &wire); err != nil {
			a.Problem = fmt.Sprintf("not a JSON object: %v", err)
			return a
		}
		a = Answer{ResponseAction: wire.ResponseAction, Errors: wire.Errors, View: wire.View, Text: wire.Text,
			Blocks: wire.Blocks, ResponseType: wire.ResponseType}
		for _, o := range wire.Options {
			a.Options = append(a.Options, o.option())
		}
		for _, g := range wire.OptionGroups {
			group := MenuGroup{Label: textString(g.Label)}
			for _, o := range g.Options {
				group.Options = append(group.Options, o.option())
			}
			a.OptionGroups = append(a.OptionGroups, group)
		}
		if a.Problem = checkOptions(wire.Options, wire.OptionGroups); a.Problem != "" {
			return a
		}
	}
	if latency > s.cfg.ackDeadline {
		a.Problem = fmt.Sprintf("answered after %v, past Slack's %v: Slack showed the user an error and ignored the answer", latency.Round(time.Millisecond), s.cfg.ackDeadline)
		return a
	}
	switch it.kind {
	case "view_submission":
		a.Problem = s.applySubmissionLocked(it, &a)
	case "block_suggestion":
		if len(a.Options) == 0 && len(a.OptionGroups) == 0 {
			a.Problem = "no options: the menu shows none"
		}
	case "slash_commands":
		if !empty {
			a.Problem = s.commandResponseLocked(it, &a)
		}
	}
	s.notifyLocked()
	return a
}

// wireOption is an option object as a bot sends it.
type wireOption struct {
	Text        json.RawMessage `json:"text"`
	Value       string          `json:"value"`
	Description json.RawMessage `json:"description"`
}

func (o wireOption) option() MenuOption {
	return MenuOption{Text: textString(o.Text), Value: o.Value, Description: textString(o.Description)}
}

// wireGroup is an option group as a bot sends it.
type wireGroup struct {
	Label   json.RawMessage `json:"label"`
	Options []wireOption    `json:"options"`
}

// checkOptions checks options against Slack's limits.
func checkOptions(options []wireOption, groups []wireGroup) string {
	if len(options) > 0 && len(groups) > 0 {
		return "both options and option_groups"
	}
	if len(options) > maxOptions || len(groups) > maxOptionGroups {
		return fmt.Sprintf("more than %d options or option groups", maxOptions)
	}
	all := slices.Clone(options)
	for _, g := range groups {
		if t := textOf(g.Label); t == nil || utf8.RuneCountInString(*t) > maxOptionText {
			return fmt.Sprintf("an option group's label is missing or longer than %d characters", maxOptionText)
		}
		all = append(all, g.Options...)
	}
	for _, o := range all {
		var text struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		_ = json.Unmarshal(o.Text, &text)
		switch {
		case text.Text == nil || text.Type != "plain_text":
			return fmt.Sprintf("option %q: text must be a plain_text object", o.Value)
		case utf8.RuneCountInString(*text.Text) > maxOptionText:
			return fmt.Sprintf("option %q: text longer than %d characters", o.Value, maxOptionText)
		case o.Value == "" || utf8.RuneCountInString(o.Value) > maxOptionValue:
			return fmt.Sprintf("option %q: value empty or longer than %d characters", o.Value, maxOptionValue)
		}
	}
	return ""
}

// applySubmissionLocked applies a view_submission's answer to the user's
// modals, as Slack does, and returns why it cannot, or "".
func (s *Server) applySubmissionLocked(it *interaction, a *Answer) string {
	v := s.views[it.viewID]
	stack := s.stacks[it.user]
	if v == nil || len(stack) == 0 || stack[len(stack)-1] != v.id {
		return fmt.Sprintf("view %s is no longer the user's top modal", it.viewID)
	}
	switch a.ResponseAction {
	case "":
		s.popLocked(it.user)
	case "clear":
		s.closeModalsLocked(it.user)
	case "errors":
		if len(a.Errors) == 0 {
			return "response_action errors without errors"
		}
		for blockID := range a.Errors {
			if !hasInput(v.blocks, blockID) {
				return fmt.Sprintf("errors name block %q, which is no input block of view %s", blockID, v.id)
			}
		}
		v.errors = maps.Clone(a.Errors)
	case "update", "push":
		next, serr, msgs := s.parseViewLocked(string(a.View), "modal")
		switch {
		case serr != "":
			return fmt.Sprintf("response_action %s with an invalid view: %s %s", a.ResponseAction, serr, strings.Join(msgs, "; "))
		case a.ResponseAction == "push" && len(stack) >= MaxViewStack:
			return "push_limit_reached"
		case s.externalTakenLocked(next.externalID, v.id):
			return "duplicate_external_id"
		case a.ResponseAction == "push":
			s.pushLocked(it.user, next)
		default:
			s.replaceLocked(v, next)
		}
	default:
		return fmt.Sprintf("unknown response_action %q", a.ResponseAction)
	}
	return ""
}

// hasInput reports whether blocks has an input block blockID.
func hasInput(blocks []map[string]any, blockID string) bool {
	for _, b := range blocks {
		if b["type"] == "input" && b["block_id"] == blockID {
			return true
		}
	}
	return false
}

// commandResponseLocked records the message a slash command's answer
// carries, or returns why Slack would refuse it.
func (s *Server) commandResponseLocked(it *interaction, a *Answer) string {
	switch {
	case a.ResponseType != "" && a.ResponseType != "ephemeral" && a.ResponseType != "in_channel":
		return fmt.Sprintf("unknown response_type %q", a.ResponseType)
	case a.Text == "" && len(a.Blocks) == 0:
		return "no_text"
	case len(a.Text) > MaxTextLen:
		return "msg_too_long"
	case len(a.Blocks) > 0 && len(validateBlocks(a.Blocks, "/blocks", MaxBlocks)) > 0:
		return "invalid_blocks"
	}
	m := Message{Method: "ack", Channel: it.channel, TS: s.tsLocked(), Text: a.Text, Blocks: string(a.Blocks), ResponseType: a.ResponseType}
	if a.ResponseType != "in_channel" {
		m.EphemeralUser = it.user
	}
	s.messages = append(s.messages, m)
	return ""
}

// httpAnswerLocked reads the HTTP response to a pushed interaction.
func (s *Server) httpAnswerLocked(it *interaction, res PushResult) Answer {
	if res.Status != http.StatusOK {
		return Answer{Problem: fmt.Sprintf("status %d: Slack shows the user an error", res.Status)}
	}
	return s.answerLocked(it, res.Body, res.Duration)
}
