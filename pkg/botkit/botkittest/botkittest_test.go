package botkittest_test

import (
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

func TestMemoryConformance(t *testing.T) {
	botkittest.TestTransport(t, func(t *testing.T) botkittest.Harness {
		m := botkittest.NewMemory()
		return botkittest.Harness{
			Transport: m,
			User:      "U1", Channel: "C1",
			Send: func(t testing.TB, text string) {
				// The bot may not be listening yet: retry until it is.
				for range 1000 {
					if _, ok := m.Inject(botkit.Event{User: "U1", Channel: "C1", Text: "<@UBOT> " + text}); ok {
						return
					}
					waitABit()
				}
				t.Fatal("the bot never started listening")
			},
			Seen: func(testing.TB) []string { return botkittest.Texts(m.Replies()) },
			Click: func(t testing.TB, user string, yes bool) {
				replies := m.Replies()
				for i := len(replies) - 1; i >= 0; i-- {
					if p := replies[i].Prompt; p != nil {
						action := botkit.ConfirmActionID + "_no"
						if yes {
							action = botkit.ConfirmActionID + "_yes"
						}
						m.Inject(botkit.Event{User: user, Channel: replies[i].Channel, ThreadTS: replies[i].ThreadTS, Action: &botkit.Action{
							ActionID: action, Value: botkit.PromptValue(p.ID, yes), MessageTS: replies[i].TS,
						}})
						return
					}
				}
				t.Fatal("no confirmation to click")
			},
			Slash: func(t testing.TB, command, text string) {
				for range 1000 {
					if _, ok := m.Inject(botkit.Event{Kind: botkit.KindSlash, Slash: &botkit.Slash{Command: command}, Text: text,
						User: "U1", Channel: "C1", TriggerID: "trigger-conf", ResponseURL: "https://response.botkittest.invalid/U1/C1/1"}); ok {
						return
					}
					waitABit()
				}
				t.Fatal("the bot never started listening")
			},
			Submit: func(t testing.TB, user string, values map[string]string) map[string]string {
				var view *botkittest.View
				for range 1000 {
					if vs := m.Views(); len(vs) > 0 {
						view = &vs[len(vs)-1]
						break
					}
					waitABit()
				}
				if view == nil {
					t.Fatal("no modal was opened")
				}
				sub := &botkit.Submission{ViewID: view.ID, CallbackID: view.Modal.CallbackID, Values: map[string]map[string]botkit.FieldValue{}}
				for k, v := range values {
					sub.Values[k] = map[string]botkit.FieldValue{k: {Value: v}}
					sub.Inputs = append(sub.Inputs, k)
				}
				answers := make(chan botkit.Answer, 1)
				m.Inject(botkit.Event{Kind: botkit.KindView, User: user, Submission: sub, Answer: func(a botkit.Answer) { answers <- a }})
				a, _ := (<-answers).(botkit.ViewAnswer)
				return a.Errors
			},
		}
	})
}
