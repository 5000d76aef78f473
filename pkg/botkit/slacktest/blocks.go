package slacktest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// validateBlocks checks a Block Kit array at the JSON pointer base (/blocks
// of a message, /view/blocks of a view) against Slack's documented limits
// and returns Slack-style error lines, or nil. It checks what bots commonly
// get wrong (sizes and counts), not every rule of every element.
func validateBlocks(raw []byte, base string, maxBlocks int) []string {
	var blocks []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{"[ERROR] invalid JSON: must be an array of objects [json-pointer:" + base + "]"}
	}
	var errs []string
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:"+base+"%s]", append(args, ptr)...))
	}
	if len(blocks) > maxBlocks {
		bad("", "no more than %d items allowed", maxBlocks)
	}
	for i, b := range blocks {
		at := fmt.Sprintf("/%d", i)
		typ := str(b["type"])
		if typ == "" {
			bad(at+"/type", "missing required field: type")
			continue
		}
		if id := str(b["block_id"]); utf8.RuneCountInString(id) > 255 {
			bad(at+"/block_id", "must be less than 256 characters")
		}
		switch typ {
		case "section":
			text := textOf(b["text"])
			fields := arr(b["fields"])
			if text == nil && fields == nil {
				bad(at, "must provide either text or fields")
			}
			if text != nil && utf8.RuneCountInString(*text) > 3000 {
				bad(at+"/text/text", "must be less than 3001 characters")
			}
			if len(fields) > 10 {
				bad(at+"/fields", "no more than 10 items allowed")
			}
			for j, f := range fields {
				if t := textOf(f); t != nil && utf8.RuneCountInString(*t) > 2000 {
					bad(fmt.Sprintf("%s/fields/%d/text", at, j), "must be less than 2001 characters")
				}
			}
		case "header":
			if t := textOf(b["text"]); t == nil || utf8.RuneCountInString(*t) > 150 {
				bad(at+"/text", "must be plain_text of at most 150 characters")
			}
		case "input":
			if t := textOf(b["label"]); t == nil || utf8.RuneCountInString(*t) > 2000 {
				bad(at+"/label", "must be plain_text of at most 2000 characters")
			}
			if t := textOf(b["hint"]); t != nil && utf8.RuneCountInString(*t) > 2000 {
				bad(at+"/hint/text", "must be less than 2001 characters")
			}
			if len(b["element"]) == 0 {
				bad(at+"/element", "missing required field: element")
			}
		case "context":
			if n := len(arr(b["elements"])); n == 0 || n > 10 {
				bad(at+"/elements", "must have between 1 and 10 items")
			}
		case "actions":
			els := arr(b["elements"])
			if len(els) == 0 || len(els) > 25 {
				bad(at+"/elements", "must have between 1 and 25 items")
			}
			for j, e := range els {
				var el map[string]json.RawMessage
				if json.Unmarshal(e, &el) != nil {
					continue
				}
				ep := fmt.Sprintf("%s/elements/%d", at, j)
				if utf8.RuneCountInString(str(el["action_id"])) > 255 {
					bad(ep+"/action_id", "must be less than 256 characters")
				}
				if str(el["type"]) == "button" {
					if t := textOf(el["text"]); t == nil || utf8.RuneCountInString(*t) > 75 {
						bad(ep+"/text", "must be plain_text of at most 75 characters")
					}
					if utf8.RuneCountInString(str(el["value"])) > 2000 {
						bad(ep+"/value", "must be less than 2001 characters")
					}
				}
			}
		}
	}
	return errs
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func arr(raw json.RawMessage) []json.RawMessage {
	var a []json.RawMessage
	_ = json.Unmarshal(raw, &a)
	return a
}

// textOf returns the text of a text object, or nil if raw is none.
func textOf(raw json.RawMessage) *string {
	var t struct {
		Text *string `json:"text"`
	}
	if json.Unmarshal(raw, &t) != nil {
		return nil
	}
	return t.Text
}

// Button returns the value of the button actionID in the message's blocks,
// and whether the message has that button: what a test needs to click it.
func (m Message) Button(actionID string) (value string, ok bool) {
	if m.Blocks == "" {
		return "", false
	}
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if json.Unmarshal([]byte(m.Blocks), &blocks) != nil {
		return "", false
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value, true
			}
		}
	}
	return "", false
}

// ButtonClick returns a click by user on the button actionID of the newest
// message the bot posted with that button, and whether there is one.
func (s *Server) ButtonClick(user, actionID string) (Action, bool) {
	msgs := s.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if v, ok := m.Button(actionID); ok && m.Method == "chat.postMessage" {
			return Action{User: user, Channel: m.Channel, MessageTS: m.TS, ActionID: actionID, Value: v}, true
		}
	}
	return Action{}, false
}
