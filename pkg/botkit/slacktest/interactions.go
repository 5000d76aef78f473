package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
)

// Interaction is something a user does in Slack that reaches the bot as an
// interaction payload: an Action on a message, modal or home tab, a
// Suggestion (an external select asking for options), a Submission or a
// ViewClosed of a modal, a Shortcut, a MessageShortcut, or a Command (a
// slash command). Interact sends one over Socket Mode, PushInteraction over
// HTTP. Building the payload issues a fresh trigger_id (and response_url)
// where Slack's has one, and applies what the user did to the fake's state
// (a choice in a modal, a closed modal), as in Slack.
type Interaction interface {
	// buildLocked returns the payload and what the fake needs to apply
	// the bot's answer, or nil if Slack would send nothing. s.mu is held.
	buildLocked(s *Server) *interaction
}

// interaction is a payload on its way to the bot.
type interaction struct {
	kind      string          // the payload's type, or slash_commands
	payload   json.RawMessage // interactive payloads
	form      url.Values      // a slash command's fields
	user      string          // who interacted
	channel   string          // where (slash commands, actions on a message)
	messageTS string          // the message acted on (actions on a message)
	viewID    string          // the view submitted (view_submission)
	triggerID string
}

// Interact sends what the user did to the bot over Socket Mode, in an
// interactive envelope (a slash_commands one for a Command), and returns
// the envelope id, or "" if Slack would send nothing (a ViewClosed of a
// modal without notify_on_close). Like every envelope, it is queued while
// no socket is open. It panics if the interaction names a view that is not
// open, or a value the user could not have chosen (see each type).
func (s *Server) Interact(i Interaction) (envelopeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := i.buildLocked(s)
	if it == nil {
		return ""
	}
	typ, payload := "interactive", it.payload
	if it.kind == "slash_commands" {
		fields := map[string]string{} // Socket Mode carries a slash command's form fields as JSON strings
		for k := range it.form {
			fields[k] = it.form.Get(k)
		}
		typ, payload = "slash_commands", marshal(fields)
	}
	return s.sendLocked(typ, payload, "", 0, "", it)
}

// PushInteraction POSTs what the user did to the bot's target URL as
// Slack's HTTP interactivity does: a form with the JSON payload in its
// payload field (the slash command's fields for a Command), signed (see
// PushRaw). Slack sends block_suggestion to the app's options load URL
// (botkit's /slack/options), slash commands to the command's URL
// (/slack/commands) and the rest to the interactivity request URL
// (/slack/interactive). The response body is read as Slack reads it
// (PushResult.Answer) and applied, as an ack's payload is. If Slack would
// send nothing it returns a zero PushResult. It panics as Interact does.
func (s *Server) PushInteraction(ctx context.Context, target string, i Interaction, opts ...PushOption) (PushResult, error) {
	it := func() *interaction {
		s.mu.Lock()
		defer s.mu.Unlock() // buildLocked panics on a bad interaction
		return i.buildLocked(s)
	}()
	if it == nil {
		return PushResult{}, nil
	}
	form := it.form
	if it.kind != "slash_commands" {
		form = url.Values{"payload": {string(it.payload)}}
	}
	res, err := s.PushRaw(ctx, target, "application/x-www-form-urlencoded", []byte(form.Encode()), opts...)
	res.TriggerID = it.triggerID
	if err != nil {
		return res, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res.Answer = s.httpAnswerLocked(it, res)
	return res, nil
}

func userObject(user string) map[string]any {
	return map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": Team}
}

// basePayload holds the fields every interactive payload of type typ has.
func basePayload(typ, user string) map[string]any {
	return map[string]any{"type": typ, "user": userObject(user), "api_app_id": AppID, "token": VerificationToken,
		"team": map[string]any{"id": Team, "domain": TeamDomain}, "enterprise": nil, "is_enterprise_install": false}
}

// messageOfLocked returns the message at channel and ts as payloads carry
// it, and its blocks, or a bare message if the fake never saw it.
func (s *Server) messageOfLocked(channel, ts string) (*histMsg, map[string]any, []map[string]any) {
	if h := s.history[key(channel, ts)]; h != nil {
		return h, h.wire(), decodeBlocks(h.Blocks)
	}
	return nil, map[string]any{"type": "message", "ts": ts, "text": ""}, nil
}

// openViewLocked returns the view id if it is open for user, or panics: a
// user acts only on what Slack shows them.
func (s *Server) openViewLocked(what, user, id string) *view {
	v := s.views[id]
	if v == nil || v.user != user {
		panic(fmt.Sprintf("slacktest: %s: %s has no view %q open", what, user, id))
	}
	return v
}

// Action is a user's action on an interactive element of a message, a
// modal or a home tab: a click on a button, a choice in a select or an
// overflow menu, a date picked. It reaches the bot as a block_actions
// payload with a trigger_id, and, on a message, a response_url. On a view
// the choice goes into the view's state, as Slack keeps it.
type Action struct {
	User      string // who acted
	Channel   string // where the message is, for an action on a message
	MessageTS string // the message's ts
	ThreadTS  string // the message's thread, if it is a reply; found from the message if empty
	ViewID    string // the modal or home tab acted on, instead of a message
	ActionID  string // the element's action_id
	BlockID   string // the block's block_id; found from the blocks if empty
	// Type is the element's type: button, static_select, external_select,
	// overflow, datepicker, users_select… Empty means the type of the
	// element in the message's or view's blocks, or button if the fake
	// does not know them.
	Type string
	// Value is the button's value (its value in the blocks if empty), or
	// what the user chose: an option's value (a select, an overflow menu,
	// radio buttons), a date (YYYY-MM-DD), a time (HH:mm), a user,
	// conversation or channel id, or the text of a text input.
	Value string
	// Values are the choices of a multi-select or of checkboxes.
	Values []string
}

func (a Action) buildLocked(s *Server) *interaction {
	p := basePayload("block_actions", a.User)
	var blocks []map[string]any
	var v *view
	if a.ViewID != "" {
		v = s.openViewLocked("Action", a.User, a.ViewID)
		blocks = v.blocks
		p["container"] = map[string]any{"type": "view", "view_id": v.id}
	} else {
		h, msg, msgBlocks := s.messageOfLocked(a.Channel, a.MessageTS)
		blocks = msgBlocks
		if h != nil && a.ThreadTS == "" {
			a.ThreadTS = h.ThreadTS
		}
		container := map[string]any{"type": "message", "message_ts": a.MessageTS, "channel_id": a.Channel, "is_ephemeral": false}
		if a.ThreadTS != "" {
			container["thread_ts"] = a.ThreadTS
		}
		p["container"], p["message"] = container, msg
		p["channel"] = map[string]any{"id": a.Channel, "name": strings.ToLower(a.Channel)}
		p["response_url"] = s.newResponseURLLocked(a.Channel, a.MessageTS, a.ThreadTS, a.User)
	}
	blockID, el := findElement(blocks, a.ActionID, a.BlockID)
	if v != nil && el == nil {
		panic(fmt.Sprintf("slacktest: Action: view %s has no element %q", v.id, a.ActionID))
	}
	if blockID == "" {
		blockID = "actions"
	}
	typ := a.Type
	if typ == "" {
		typ, _ = el["type"].(string)
	}
	if typ == "" {
		typ = "button"
	}
	action := map[string]any{"action_id": a.ActionID, "block_id": blockID, "type": typ, "action_ts": s.tsLocked()}
	values := a.Values
	if values == nil && (a.Value != "" || typ == "button") {
		values = []string{a.Value}
	}
	state := map[string]any{}
	if typ == "button" {
		text, value := a.ActionID, a.Value
		if t := textOf(marshal(el["text"])); t != nil {
			text = *t
		}
		if value == "" {
			value, _ = el["value"].(string)
		}
		action["text"] = map[string]any{"type": "plain_text", "text": text, "emoji": true}
		action["value"] = value
		if style, ok := el["style"]; ok {
			action["style"] = style
		}
	} else {
		value := chosen(el, typ, values)
		maps.Copy(action, value)
		if _, stateful := stateFieldOf(typ); stateful {
			state[blockID] = map[string]any{a.ActionID: value}
			if v != nil {
				v.state.set(blockID, a.ActionID, value)
			}
		}
	}
	if v != nil {
		v.state.fill(v.blocks)
		p["view"] = v.wire()
	} else {
		p["state"] = map[string]any{"values": state}
	}
	p["actions"] = []any{action}
	p["trigger_id"] = s.triggerLocked(a.User)
	it := &interaction{kind: "block_actions", payload: marshal(p), user: a.User, triggerID: p["trigger_id"].(string)}
	if a.ViewID == "" {
		it.channel, it.messageTS = a.Channel, a.MessageTS
	}
	return it
}

// Click sends a button click (an interactive envelope with a block_actions
// payload) and returns the envelope id: Interact(a). If the fake knows the
// message (the bot posted it), the payload carries it, its blocks, and the
// clicked block's id, as Slack's does. The payload's response_url points at
// the fake: what the bot posts there is recorded in Messages with Method
// response_url.
func (s *Server) Click(a Action) (envelopeID string) { return s.Interact(a) }

// Suggestion is a user typing in an external select menu (single or
// multi): it reaches the bot as a block_suggestion payload, which asks for
// the options to show; the bot answers with them in its ack (or HTTP
// response). It has no trigger_id and no response_url, as in Slack.
// Building it panics if the menu the fake knows is no external select.
type Suggestion struct {
	User      string
	ActionID  string // the menu's action_id
	BlockID   string // found from the blocks if empty
	Value     string // what the user typed
	ViewID    string // the modal or home tab holding the menu, or:
	Channel   string // where the message holding it is
	MessageTS string
}

func (g Suggestion) buildLocked(s *Server) *interaction {
	p := basePayload("block_suggestion", g.User)
	var blocks []map[string]any
	if g.ViewID != "" {
		v := s.openViewLocked("Suggestion", g.User, g.ViewID)
		blocks = v.blocks
		p["container"] = map[string]any{"type": "view", "view_id": v.id}
		p["view"] = v.wire()
	} else {
		_, msg, msgBlocks := s.messageOfLocked(g.Channel, g.MessageTS)
		blocks = msgBlocks
		p["container"] = map[string]any{"type": "message", "message_ts": g.MessageTS, "channel_id": g.Channel, "is_ephemeral": false}
		p["channel"] = map[string]any{"id": g.Channel, "name": strings.ToLower(g.Channel)}
		p["message"] = msg
	}
	blockID, el := findElement(blocks, g.ActionID, g.BlockID)
	if typ, _ := el["type"].(string); (el != nil || g.ViewID != "") && typ != "external_select" && typ != "multi_external_select" {
		panic(fmt.Sprintf("slacktest: Suggestion: %q is no external select menu", g.ActionID))
	}
	p["action_id"], p["block_id"], p["value"] = g.ActionID, blockID, g.Value
	return &interaction{kind: "block_suggestion", payload: marshal(p), user: g.User}
}

// Values are what a user entered in a modal, by action_id (or
// "block_id/action_id" where an action_id is in several blocks), each
// typed by the element that takes it: the text of a text input, an
// option's value, a date, a user id… Most elements take one value; a
// multi-select or checkboxes take several.
type Values map[string][]string

// Submission is a user submitting the modal on top of their stack: a
// view_submission payload whose view state holds Values over what the
// inputs held (their initial values, or the user's earlier choices). Slack
// adds a response_url for each input with response_url_enabled and a
// conversation chosen. The bot answers in its ack (see Answer).
//
// Building it panics if the view is not the user's top modal, if a value
// names no element of the view or is no option of its menu, or if a
// required input (not "optional") is left empty: Slack's client submits
// none of these.
type Submission struct {
	User   string
	ViewID string
	Values Values
}

func (sub Submission) buildLocked(s *Server) *interaction {
	v := s.openViewLocked("Submission", sub.User, sub.ViewID)
	if stack := s.stacks[sub.User]; len(stack) == 0 || stack[len(stack)-1] != v.id {
		panic(fmt.Sprintf("slacktest: Submission: view %s is not %s's top modal", v.id, sub.User))
	}
	// Check everything before changing anything: a panic leaves the view
	// as it was.
	state := v.state.clone()
	for k, vals := range sub.Values {
		actionID, blockID := k, ""
		if b, a, ok := strings.Cut(k, "/"); ok {
			if _, el := findElement(v.blocks, k, ""); el == nil { // an action_id with a slash is taken as is
				actionID, blockID = a, b
			}
		}
		blockID, el := findElement(v.blocks, actionID, blockID)
		if el == nil {
			panic(fmt.Sprintf("slacktest: Submission: view %s has no element %q", v.id, k))
		}
		typ, _ := el["type"].(string)
		if vals == nil {
			vals = []string{}
		}
		state.set(blockID, actionID, chosen(el, typ, vals))
	}
	state.fill(v.blocks)
	var reports []map[string]any
	for _, b := range v.blocks {
		if b["type"] != "input" {
			continue
		}
		blockID, _ := b["block_id"].(string)
		el, _ := b["element"].(map[string]any)
		actionID, _ := el["action_id"].(string)
		value := state[blockID][actionID]
		if optional, _ := b["optional"].(bool); !optional && value != nil && isEmpty(value) {
			panic(fmt.Sprintf("slacktest: Submission: input %q of view %s is required", blockID, v.id))
		}
		if enabled, _ := el["response_url_enabled"].(bool); enabled && value != nil && !isEmpty(value) {
			channel, _ := value["selected_conversation"].(string)
			if channel == "" {
				channel, _ = value["selected_channel"].(string)
			}
			reports = append(reports, map[string]any{"block_id": blockID, "action_id": actionID, "channel_id": channel})
		}
	}
	v.state = state
	responseURLs := []any{}
	for _, r := range reports {
		r["response_url"] = s.newResponseURLLocked(r["channel_id"].(string), "", "", sub.User)
		responseURLs = append(responseURLs, r)
	}
	v.errors = nil
	p := basePayload("view_submission", sub.User)
	p["trigger_id"] = s.triggerLocked(sub.User)
	p["view"], p["response_urls"] = v.wire(), responseURLs
	return &interaction{kind: "view_submission", payload: marshal(p), user: sub.User, viewID: v.id, triggerID: p["trigger_id"].(string)}
}

// Submit sends the submission of user's top modal viewID with values over
// Socket Mode and returns the envelope id: Interact(Submission{…}). It
// panics as Submission does.
func (s *Server) Submit(user, viewID string, values Values) (envelopeID string) {
	return s.Interact(Submission{User: user, ViewID: viewID, Values: values})
}

// ViewClosed is a user closing the modal on top of their stack with its
// Close button or the X: it closes (with the whole stack if it was opened
// with clear_on_close), and, if it was opened with notify_on_close, the bot
// gets a view_closed payload. Building it panics if the view is not the
// user's top modal.
type ViewClosed struct {
	User   string
	ViewID string
}

func (c ViewClosed) buildLocked(s *Server) *interaction {
	v := s.openViewLocked("ViewClosed", c.User, c.ViewID)
	stack := s.stacks[c.User]
	if len(stack) == 0 || stack[len(stack)-1] != v.id {
		panic(fmt.Sprintf("slacktest: ViewClosed: view %s is not %s's top modal", v.id, c.User))
	}
	p := basePayload("view_closed", c.User)
	p["view"], p["is_cleared"] = v.wire(), v.clearOnClose
	if v.clearOnClose {
		s.closeModalsLocked(c.User)
	} else {
		s.popLocked(c.User)
	}
	s.notifyLocked()
	if !v.notifyOnClose {
		return nil
	}
	return &interaction{kind: "view_closed", payload: marshal(p), user: c.User, viewID: v.id}
}

// popLocked closes user's top modal.
func (s *Server) popLocked(user string) {
	stack := s.stacks[user]
	s.dropLocked(stack[len(stack)-1])
	if len(stack) == 1 {
		delete(s.stacks, user)
		return
	}
	s.stacks[user] = stack[:len(stack)-1]
}

// Shortcut is a user running a global shortcut (from the composer or the
// search bar): a shortcut payload with its callback_id and a trigger_id to
// open a modal with. It has no channel and no response_url, as in Slack.
type Shortcut struct {
	User       string
	CallbackID string
}

func (sc Shortcut) buildLocked(s *Server) *interaction {
	p := basePayload("shortcut", sc.User)
	p["user"] = map[string]any{"id": sc.User, "username": strings.ToLower(sc.User), "team_id": Team}
	p["callback_id"], p["action_ts"] = sc.CallbackID, s.tsLocked()
	p["trigger_id"] = s.triggerLocked(sc.User)
	return &interaction{kind: "shortcut", payload: marshal(p), user: sc.User, triggerID: p["trigger_id"].(string)}
}

// MessageShortcut is a user running a message shortcut from a message's
// menu: a message_action payload with the message (as the fake knows it),
// its channel, a trigger_id and a response_url.
type MessageShortcut struct {
	User       string
	CallbackID string
	Channel    string
	MessageTS  string
}

func (ms MessageShortcut) buildLocked(s *Server) *interaction {
	h, msg, _ := s.messageOfLocked(ms.Channel, ms.MessageTS)
	thread := ""
	if h != nil {
		thread = h.ThreadTS
	}
	p := basePayload("message_action", ms.User)
	p["callback_id"], p["action_ts"], p["message_ts"], p["message"] = ms.CallbackID, s.tsLocked(), ms.MessageTS, msg
	p["channel"] = map[string]any{"id": ms.Channel, "name": strings.ToLower(ms.Channel)}
	p["response_url"] = s.newResponseURLLocked(ms.Channel, ms.MessageTS, thread, ms.User)
	p["trigger_id"] = s.triggerLocked(ms.User)
	return &interaction{kind: "message_action", payload: marshal(p), user: ms.User, triggerID: p["trigger_id"].(string)}
}

// Command is a slash command a user typed in a channel, like
// Command{User: "U1", Channel: "C1", Name: "/deploy", Text: "api main"}:
// its fields carry a trigger_id and a response_url, and the bot may answer
// in its ack (or HTTP response) with a message.
type Command struct {
	User    string
	Channel string
	Name    string // with its slash
	Text    string
}

func (c Command) buildLocked(s *Server) *interaction {
	trig := s.triggerLocked(c.User)
	form := url.Values{
		"token": {VerificationToken}, "team_id": {Team}, "team_domain": {TeamDomain},
		"channel_id": {c.Channel}, "channel_name": {strings.ToLower(c.Channel)},
		"user_id": {c.User}, "user_name": {strings.ToLower(c.User)},
		"command": {c.Name}, "text": {c.Text}, "api_app_id": {AppID}, "is_enterprise_install": {"false"},
		"response_url": {s.newResponseURLLocked(c.Channel, "", "", c.User)},
		"trigger_id":   {trig},
	}
	return &interaction{kind: "slash_commands", form: form, user: c.User, channel: c.Channel, triggerID: trig}
}

// Slash sends a slash command (a slash_commands envelope, which accepts a
// response payload) typed by user in channel, like Slash("U1", "C1",
// "/deploy", "api main"), and returns the envelope id.
func (s *Server) Slash(user, channel, command, text string) (envelopeID string) {
	return s.Interact(Command{User: user, Channel: channel, Name: command, Text: text})
}
