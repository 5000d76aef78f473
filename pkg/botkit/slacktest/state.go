package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// stateField says where an element keeps what the user chose: the field of
// its state value and of its initial value, whether it holds several, and
// whether they are options (objects with text and value) rather than
// strings.
type stateField struct {
	field, initial string
	multi, option  bool
}

// stateFieldOf returns the state field of an element type, and whether
// the element is stateful (buttons and overflow menus are not: they act,
// they hold nothing).
func stateFieldOf(typ string) (stateField, bool) {
	switch typ {
	case "plain_text_input", "email_text_input", "url_text_input", "number_input":
		return stateField{field: "value", initial: "initial_value"}, true
	case "static_select", "external_select", "radio_buttons":
		return stateField{field: "selected_option", initial: "initial_option", option: true}, true
	case "multi_static_select", "multi_external_select", "checkboxes":
		return stateField{field: "selected_options", initial: "initial_options", multi: true, option: true}, true
	case "users_select":
		return stateField{field: "selected_user", initial: "initial_user"}, true
	case "multi_users_select":
		return stateField{field: "selected_users", initial: "initial_users", multi: true}, true
	case "conversations_select":
		return stateField{field: "selected_conversation", initial: "initial_conversation"}, true
	case "multi_conversations_select":
		return stateField{field: "selected_conversations", initial: "initial_conversations", multi: true}, true
	case "channels_select":
		return stateField{field: "selected_channel", initial: "initial_channel"}, true
	case "multi_channels_select":
		return stateField{field: "selected_channels", initial: "initial_channels", multi: true}, true
	case "datepicker":
		return stateField{field: "selected_date", initial: "initial_date"}, true
	case "timepicker":
		return stateField{field: "selected_time", initial: "initial_time"}, true
	case "datetimepicker":
		return stateField{field: "selected_date_time", initial: "initial_date_time"}, true
	}
	return stateField{}, false
}

// chosen returns the typed value of an element of type typ (el, if the
// fake knows the element) with vals chosen, as Slack puts it in state
// values and in block_actions: {"type": "static_select", "selected_option":
// {…}}. With vals nil it is the element's initial value, or none (null, or
// [] for a multi-select). It panics on a value a static menu does not
// offer, since Slack's client offers no such choice.
func chosen(el map[string]any, typ string, vals []string) map[string]any {
	out := map[string]any{"type": typ}
	f, ok := stateFieldOf(typ)
	if typ == "overflow" {
		f, ok = stateField{field: "selected_option", option: true}, true
	}
	if !ok {
		if len(vals) > 0 {
			out["value"] = vals[0]
		}
		return out
	}
	switch {
	case vals == nil && el[f.initial] != nil:
		out[f.field] = el[f.initial]
	case vals == nil && f.multi:
		out[f.field] = []any{}
	case vals == nil:
		out[f.field] = nil
	case f.multi:
		var list []any
		for _, v := range vals {
			list = append(list, choice(el, typ, f, v))
		}
		out[f.field] = list
	default:
		out[f.field] = choice(el, typ, f, vals[0])
	}
	return out
}

func choice(el map[string]any, typ string, f stateField, v string) any {
	switch {
	case f.option:
		return optionOf(el, typ, v)
	case typ == "datetimepicker":
		return json.Number(v) // Unix seconds, a number in Slack's payloads
	}
	return v
}

// optionOf returns the option of el whose value is v. External selects
// load their options from the bot, so the fake makes one up.
func optionOf(el map[string]any, typ, v string) map[string]any {
	var options []any
	if list, ok := el["options"].([]any); ok {
		options = list
	}
	if groups, ok := el["option_groups"].([]any); ok {
		for _, g := range groups {
			if g, ok := g.(map[string]any); ok {
				list, _ := g["options"].([]any)
				options = append(options, list...)
			}
		}
	}
	for _, o := range options {
		if o, ok := o.(map[string]any); ok && o["value"] == v {
			return o
		}
	}
	if el != nil && len(options) > 0 {
		panic(fmt.Sprintf("slacktest: %s %q offers no option %q", typ, el["action_id"], v))
	}
	return map[string]any{"text": map[string]any{"type": "plain_text", "text": v, "emoji": true}, "value": v}
}

// isEmpty reports whether a typed value holds no choice.
func isEmpty(value map[string]any) bool {
	f, ok := stateFieldOf(fmt.Sprint(value["type"]))
	if !ok {
		return false
	}
	switch v := value[f.field].(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

// findElement returns the block_id of the element actionID in blocks (in
// block blockID if that is not empty) and the element, or nil.
func findElement(blocks []map[string]any, actionID, blockID string) (string, map[string]any) {
	for _, b := range blocks {
		id, _ := b["block_id"].(string)
		if blockID != "" && id != blockID {
			continue
		}
		for _, el := range elementsOf(b) {
			if el["action_id"] == actionID {
				return id, el
			}
		}
	}
	return blockID, nil
}

// decodeBlocks decodes a blocks JSON array, keeping numbers as sent.
func decodeBlocks(raw []byte) []map[string]any {
	var blocks []map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&blocks)
	return blocks
}

// viewState is a view's state values: block_id -> action_id -> typed value.
type viewState map[string]map[string]map[string]any

func (st viewState) set(blockID, actionID string, value map[string]any) {
	if st[blockID] == nil {
		st[blockID] = map[string]map[string]any{}
	}
	st[blockID][actionID] = value
}

func (st viewState) clone() viewState {
	out := viewState{}
	for b, actions := range st {
		for a, value := range actions {
			out.set(b, a, value) // values are not changed once made
		}
	}
	return out
}

// fill adds every stateful element of blocks that st lacks, at its
// initial value: Slack's state holds all of a view's stateful elements.
func (st viewState) fill(blocks []map[string]any) {
	for _, b := range blocks {
		blockID, _ := b["block_id"].(string)
		for _, el := range elementsOf(b) {
			typ, _ := el["type"].(string)
			actionID, _ := el["action_id"].(string)
			if _, ok := stateFieldOf(typ); ok && st[blockID][actionID] == nil {
				st.set(blockID, actionID, chosen(el, typ, nil))
			}
		}
	}
}
