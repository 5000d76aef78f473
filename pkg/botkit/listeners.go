package botkit

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// maxListenerID is Slack's limit on an action_id or callback_id.
const maxListenerID = 255

// listenerKey names a listener: its kind and ID (action_id, callback_id,
// event type).
type listenerKey struct {
	kind Kind
	id   string
}

// OptionsFunc returns the choices of an external select for what the user
// typed so far (req.Suggestion().Value). It must answer within
// AnswerBudget: Slack shows the list only if it comes in the ack.
type OptionsFunc func(ctx context.Context, req *Request) ([]Choice, error)

// HomeFunc returns blocks a bot adds to its App Home tab, under the list of
// commands the user may run, for that user.
type HomeFunc func(ctx context.Context, req *Request) ([]slack.Block, error)

// listen registers h as the listener of kind for id.
func (b *Bot) listen(kind Kind, id string, h HandlerFunc, opts []CommandOption) *Command {
	b.mustNotBeFrozen(kind.String())
	if h == nil {
		panic(fmt.Sprintf("botkit: nil handler for %s %q", kind, id))
	}
	if id == "" || len(id) > maxListenerID || strings.ContainsAny(id, " \t\n") {
		panic(fmt.Sprintf("botkit: %s ID %q: want 1 to %d characters without spaces", kind, id, maxListenerID))
	}
	key := listenerKey{kind, id}
	if _, dup := b.listeners[key]; dup {
		panic(fmt.Sprintf("botkit: %s %q registered twice", kind, id))
	}
	name := kind.String() + ":" + id
	c := &Command{kind: kind, pat: &pattern{src: name, required: []elem{{kind: litElem, text: name}}}, handler: h, hidden: true}
	for _, o := range opts {
		o(c)
	}
	if b.listeners == nil {
		b.listeners = map[listenerKey]*Command{}
	}
	b.listeners[key] = c
	b.order = append(b.order, c)
	return c
}

// Action registers h for clicks on elements whose action_id is actionID:
// buttons, static and external selects, overflow menus, date pickers, in
// a message, a modal or the home tab. req.Action() says what was chosen.
// The click is acknowledged at once, then h runs like a command: access
// rules (`action: <actionID>`), rate limit, audit, timeout. It panics on a
// bad or duplicate ID, or once the bot runs.
func (b *Bot) Action(actionID string, h HandlerFunc, opts ...CommandOption) *Command {
	if strings.HasPrefix(actionID, ConfirmActionID) {
		panic(fmt.Sprintf("botkit: action ID %q: the prefix %s is botkit's own", actionID, ConfirmActionID))
	}
	return b.listen(KindAction, actionID, h, opts)
}

// View registers h for submissions of modals whose callback_id is
// callbackID; req.Field reads their inputs. h answers in Slack's
// acknowledgement, so it must be quick: return nil to close the modal, a
// FieldErrors to keep it open with messages beside the inputs, or call
// req.Answer (to update or push a view) and go on working after. Whatever
// h has not answered within AnswerBudget is answered for it, keeping the
// user's inputs. It also gets view_closed when the modal asks for it
// (notify_on_close), with req.Submission().Closed set.
func (b *Bot) View(callbackID string, h HandlerFunc, opts ...CommandOption) *Command {
	return b.listen(KindView, callbackID, h, opts)
}

// Shortcut registers h for the global shortcut callbackID, shown in
// Slack's shortcut menu as name (at most 24 characters; Describe sets its
// description). req.TriggerID opens a modal: do that first, within 3
// seconds.
func (b *Bot) Shortcut(callbackID, name string, h HandlerFunc, opts ...CommandOption) *Command {
	c := b.listen(KindShortcut, callbackID, h, opts)
	c.title = shortcutName(name)
	return c
}

// MessageShortcut registers h for the message shortcut callbackID, shown
// in a message's menu as name; req.Shortcut() holds the message.
func (b *Bot) MessageShortcut(callbackID, name string, h HandlerFunc, opts ...CommandOption) *Command {
	c := b.listen(KindShortcut, callbackID, h, opts)
	c.title, c.onMessage = shortcutName(name), true
	return c
}

// shortcutName checks a shortcut's name against Slack's limit.
func shortcutName(name string) string {
	if name == "" || utf8.RuneCountInString(name) > 24 {
		panic(fmt.Sprintf("botkit: shortcut name %q: want 1 to 24 characters", name))
	}
	return name
}

// Event registers h for Events API events of type eventType
// (reaction_added, member_joined_channel, channel_created...). Like
// mentions, events from bots (this one too) are ignored and a retried event
// runs once. app_mention and message are the commands' (Command), and
// app_home_opened the home tab's (Home).
func (b *Bot) Event(eventType string, h HandlerFunc, opts ...CommandOption) *Command {
	switch eventType {
	case "app_mention", "message":
		panic(fmt.Sprintf("botkit: event %q: mentions and direct messages run commands; register those with Command", eventType))
	case "app_home_opened":
		panic("botkit: event app_home_opened: the home tab is botkit's; add blocks with Home")
	}
	return b.listen(KindEvent, eventType, h, opts)
}

// Options registers f for the options of external selects whose
// action_id is actionID.
func (b *Bot) Options(actionID string, f OptionsFunc) *Command {
	if f == nil {
		panic(fmt.Sprintf("botkit: nil OptionsFunc for %q", actionID))
	}
	return b.listen(KindOptions, actionID, func(ctx context.Context, req *Request) error {
		choices, err := f(ctx, req)
		if err != nil {
			return err
		}
		req.Answer(OptionsAnswer{Choices: choices})
		return nil
	}, nil)
}

// Home adds f's blocks to the bot's App Home tab. Without Home the tab
// still lists the commands each user may run (as help does), published when
// the user opens it.
func (b *Bot) Home(f HomeFunc) {
	b.mustNotBeFrozen("Home")
	if f == nil {
		panic("botkit: nil HomeFunc")
	}
	if b.home != nil {
		panic("botkit: Home registered twice")
	}
	b.home = f
}

// Slash registers a slash command such as "/deploy": Slack delivers it, and
// its text runs as a command, through the same patterns, help, access
// rules and audit as a mention. When a command has the slash command's name
// (/deploy and deploy {app} {branch}), the text is that command's
// arguments: /deploy api main runs "deploy api main"; otherwise the text is
// a whole command: /ops deploy api main. The acknowledgement is immediate;
// replies go to the user alone through the command's response_url, unless
// InChannel. Slack does not namespace slash commands in a workspace, so
// each environment's app declares the command with its suffix
// (SlashName): the bot takes both spellings. Describe sets the
// description Slack shows; Example, the usage hint.
func (b *Bot) Slash(name string, opts ...CommandOption) *Command {
	b.mustNotBeFrozen("Slash")
	if !validSlash(name) {
		panic(fmt.Sprintf("botkit: slash command %q: want / and 1 to %d lowercase letters, digits, - or _", name, maxSlash-1))
	}
	c := &Command{kind: KindSlash, pat: &pattern{src: name, required: []elem{{kind: litElem, text: name}}}, hidden: true}
	for _, o := range opts {
		o(c)
	}
	key := listenerKey{KindSlash, name}
	if _, dup := b.listeners[key]; dup {
		panic(fmt.Sprintf("botkit: slash command %q registered twice", name))
	}
	if b.listeners == nil {
		b.listeners = map[listenerKey]*Command{}
	}
	b.listeners[key] = c
	b.order = append(b.order, c)
	return c
}

// maxSlash bounds a slash command's name: Slack takes 32 characters, and an
// environment's suffix (-dev, -staging) needs room.
const maxSlash = 24

// validSlash reports whether name is a slash command Slack accepts: a /
// then lowercase letters, digits, dashes or underscores, maxSlash in all.
func validSlash(name string) bool {
	if len(name) < 2 || len(name) > maxSlash || name[0] != '/' {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// SlashName is how the slash command name is declared in env's Slack app:
// as is in prd, with "-<env>" after it elsewhere (/deploy-dev), since two
// apps of one workspace cannot both have /deploy.
func SlashName(name, env string) string {
	if env == "" || env == EnvPrd {
		return name
	}
	return name + "-" + env
}

// InChannel makes a slash command's replies visible to the channel, not only
// to the user who typed it.
func InChannel() CommandOption { return func(c *Command) { c.inChannel = true } }

// Listeners returns what the bot registers besides commands (slash
// commands, actions, views, shortcuts, events, options), in registration
// order: the Slack app manifest is made from them.
func (b *Bot) Listeners() []*Command {
	out := make([]*Command, len(b.order))
	copy(out, b.order)
	return out
}

// HasHome reports whether the bot adds blocks to its home tab.
func (b *Bot) HasHome() bool { return b.home != nil }
