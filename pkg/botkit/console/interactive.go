package console

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// choice is one interactive element's option a message offers: typing its
// number clicks it, as a user would in Slack.
type choice struct {
	actionID, blockID, typ, value, label, messageTS string
}

// choicesOf lists the buttons and options of a message's blocks, in order.
func choicesOf(blocks []slack.Block, messageTS string) []choice {
	var out []choice
	add := func(blockID string, e slack.BlockElement) {
		switch e := e.(type) {
		case *slack.ButtonBlockElement:
			out = append(out, choice{e.ActionID, blockID, "button", e.Value, plainText(e.Text), messageTS})
		case *slack.SelectBlockElement:
			for _, o := range e.Options {
				out = append(out, choice{e.ActionID, blockID, e.Type, o.Value, plainText(o.Text), messageTS})
			}
		case *slack.OverflowBlockElement:
			for _, o := range e.Options {
				out = append(out, choice{e.ActionID, blockID, "overflow", o.Value, plainText(o.Text), messageTS})
			}
		}
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.ActionBlock:
			if b.Elements != nil {
				for _, e := range b.Elements.ElementSet {
					add(b.BlockID, e)
				}
			}
		case *slack.SectionBlock:
			if a := b.Accessory; a != nil {
				switch {
				case a.ButtonElement != nil:
					add(b.BlockID, a.ButtonElement)
				case a.SelectElement != nil:
					add(b.BlockID, a.SelectElement)
				case a.OverflowElement != nil:
					add(b.BlockID, a.OverflowElement)
				}
			}
		}
	}
	return out
}

func plainText(t *slack.TextBlockObject) string {
	if t == nil {
		return ""
	}
	return t.Text
}

// choicesLine renders choices for the terminal: [1] red  [2] green.
func choicesLine(cs []choice) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("[%d] %s", i+1, c.label)
	}
	return strings.Join(parts, "  ") + "  (type a number to choose)"
}

// field is one input of a modal asked on the terminal.
type field struct {
	blockID, actionID, typ, label string
	optional                      bool
	options                       []choice // a select's
}

// form is a modal being filled in on the terminal, one field a line.
type form struct {
	view   slack.ModalViewRequest
	id     string
	fields []field
	next   int // the field the next line answers
	values map[string]map[string]botkit.FieldValue
}

// newForm reads a modal's input blocks.
func newForm(id string, v slack.ModalViewRequest) *form {
	f := &form{view: v, id: id, values: map[string]map[string]botkit.FieldValue{}}
	for _, b := range v.Blocks.BlockSet {
		in, ok := b.(*slack.InputBlock)
		if !ok {
			continue
		}
		fl := field{blockID: in.BlockID, label: plainText(in.Label), optional: in.Optional}
		switch e := in.Element.(type) {
		case *slack.PlainTextInputBlockElement:
			fl.actionID, fl.typ = e.ActionID, "plain_text_input"
		case *slack.SelectBlockElement:
			fl.actionID, fl.typ = e.ActionID, e.Type
			for _, o := range e.Options {
				fl.options = append(fl.options, choice{value: o.Value, label: plainText(o.Text)})
			}
		case *slack.DatePickerBlockElement:
			fl.actionID, fl.typ = e.ActionID, "datepicker"
		default:
			fl.actionID, fl.typ = "value", "plain_text_input"
		}
		f.fields = append(f.fields, fl)
	}
	return f
}

// question is how the terminal asks field i.
func (f *form) question(i int) string {
	fl := f.fields[i]
	q := "[" + plainText(f.view.Title) + "] " + fl.label
	switch {
	case len(fl.options) > 0:
		q += " " + choicesLine(fl.options)
	case fl.typ == "datepicker":
		q += " (YYYY-MM-DD)"
	}
	if fl.optional {
		q += " (optional: an empty line skips it)"
	}
	return q
}

// answer takes line as the answer to the current field; it returns a note
// when the line does not fit (a choice that is not one).
func (f *form) answer(line string) string {
	fl := f.fields[f.next]
	v := strings.TrimSpace(line)
	if len(fl.options) > 0 && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > len(fl.options) {
			return fmt.Sprintf("Type a number from 1 to %d.", len(fl.options))
		}
		v = fl.options[n-1].value
	}
	if v == "" && !fl.optional {
		return "This one is required."
	}
	f.values[fl.blockID] = map[string]botkit.FieldValue{fl.actionID: {Type: fl.typ, Value: v}}
	f.next++
	return ""
}

// submission is the filled-in form, as Slack submits a modal.
func (f *form) submission() *botkit.Submission {
	s := &botkit.Submission{ViewID: f.id, CallbackID: f.view.CallbackID, PrivateMetadata: f.view.PrivateMetadata, Values: f.values}
	for _, fl := range f.fields {
		s.Inputs = append(s.Inputs, fl.blockID)
	}
	return s
}

// OpenView implements botkit.Viewer: the modal is asked on the terminal, one
// field a line, and submitted when the last is answered.
func (t *Transport) OpenView(_ context.Context, triggerID string, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	if triggerID == "" {
		return botkit.ViewRef{}, errors.New("invalid_trigger_id")
	}
	return t.showForm(v), nil
}

// PushView implements botkit.Viewer: on a terminal the pushed modal simply
// takes the open one's place.
func (t *Transport) PushView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	return t.OpenView(ctx, triggerID, v)
}

// UpdateView implements botkit.Viewer.
func (t *Transport) UpdateView(_ context.Context, _ botkit.ViewRef, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	return t.showForm(v), nil
}

// PublishHome implements botkit.Viewer; a terminal has no home tab.
func (t *Transport) PublishHome(context.Context, string, slack.HomeTabViewRequest) error { return nil }

// showForm makes v the form the next lines fill in, and asks its first
// field.
func (t *Transport) showForm(v slack.ModalViewRequest) botkit.ViewRef {
	id := fmt.Sprintf("VCONSOLE%d", t.seq.Add(1))
	f := newForm(id, v)
	t.pmu.Lock()
	t.form = f
	t.pmu.Unlock()
	if len(f.fields) == 0 {
		t.print(true, "", "["+plainText(v.Title)+"]")
	} else {
		t.print(true, "", f.question(0))
	}
	t.signalPrompted()
	return botkit.ViewRef{ID: id}
}

// Respond implements botkit.Responder: a slash command's answers print like
// replies, marked when only the user sees them.
func (t *Transport) Respond(_ context.Context, _ string, r botkit.Response) error {
	tag := "(only you) "
	if r.InChannel {
		tag = ""
	}
	if r.ReplaceOriginal {
		tag = "(edited) " + tag
	}
	text := r.Text
	if cs := choicesOf(r.Blocks, t.ts(t.seq.Add(1))); len(cs) > 0 {
		t.offer(cs)
		text += "\n" + choicesLine(cs)
	}
	t.print(true, tag, text)
	return nil
}

// offer makes cs the choices a number typed next picks from.
func (t *Transport) offer(cs []choice) {
	t.pmu.Lock()
	t.choices = cs
	t.pmu.Unlock()
}

// pick returns the choice line names, if it is a number of one offered.
func (t *Transport) pick(line string) (choice, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return choice{}, false
	}
	t.pmu.Lock()
	defer t.pmu.Unlock()
	if n < 1 || n > len(t.choices) {
		return choice{}, false
	}
	return t.choices[n-1], true
}

// fill gives line to the open form, if there is one: ok is false when
// there is none. When the last field is answered, the form is submitted and
// the bot's answer shown: errors beside the fields ask those again.
func (t *Transport) fill(ctx context.Context, line string, deliver func(context.Context, botkit.Event)) (ok bool, id string) {
	t.pmu.Lock()
	f := t.form
	t.pmu.Unlock()
	if f == nil {
		return false, ""
	}
	if note := f.answer(line); note != "" {
		t.print(true, "", note+" "+f.question(f.next))
		return true, ""
	}
	if f.next < len(f.fields) {
		t.print(true, "", f.question(f.next))
		return true, ""
	}
	t.pmu.Lock()
	t.form = nil
	t.pmu.Unlock()
	answers := make(chan botkit.Answer, 1)
	ev := botkit.Event{Kind: botkit.KindView, ID: fmt.Sprintf("console-%s-view-%d", t.session, t.seq.Add(1)),
		User: User, Submission: f.submission(), TriggerID: t.trigger(),
		Answer: func(a botkit.Answer) {
			select {
			case answers <- a:
			default:
			}
		}}
	deliver(ctx, ev)
	var a botkit.Answer
	select {
	case a = <-answers:
	case <-time.After(botkit.AnswerBudget + time.Second):
	case <-ctx.Done():
	}
	va, _ := a.(botkit.ViewAnswer)
	switch {
	case len(va.Errors) > 0:
		// Ask again what was refused, keeping the rest.
		var again []field
		for _, fl := range f.fields {
			if msg, bad := va.Errors[fl.blockID]; bad {
				t.print(true, "", "⚠ "+fl.label+": "+msg)
				again = append(again, fl)
			}
		}
		f.fields, f.next = again, 0
		t.pmu.Lock()
		t.form = f
		t.pmu.Unlock()
		t.print(true, "", f.question(0))
	case va.Update != nil:
		t.showForm(*va.Update)
	case va.Push != nil:
		t.showForm(*va.Push)
	default:
		t.print(true, "", "["+plainText(f.view.Title)+"] sent.")
	}
	return true, ev.ID
}

// trigger returns a new trigger ID, which OpenView takes.
func (t *Transport) trigger() string { return fmt.Sprintf("console-trigger-%d", t.seq.Add(1)) }

// signalPrompted tells a waiting transcript that the bot asks something.
func (t *Transport) signalPrompted() {
	select {
	case t.prompted <- struct{}{}:
	default:
	}
}

// filling reports whether a form is open.
func (t *Transport) filling() bool {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	return t.form != nil
}
