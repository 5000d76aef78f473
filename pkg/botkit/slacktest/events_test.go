package slacktest_test

import (
	"net/http"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// inner returns the inner event of the next events_api envelope and its
// event id.
func (c *socketClient) inner(t *testing.T) (any, string) {
	t.Helper()
	outer := c.next(t, socketmode.EventTypeEventsAPI).Data.(slackevents.EventsAPIEvent)
	return outer.InnerEvent.Data, outer.Data.(*slackevents.EventsAPICallbackEvent).EventID
}

func TestOtherEvents(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}
	published, err := api(srv).PublishViewContext(t.Context(), slack.PublishViewContextRequest{UserID: "U1", View: home})
	if err != nil {
		t.Fatal(err)
	}
	_, ts, err := api(srv).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("deployed", false))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		event slacktest.Event
		check func(t *testing.T, data any)
	}{
		{"app_home_opened", slacktest.AppHomeOpened("U1"), func(t *testing.T, data any) {
			ev, ok := data.(*slackevents.AppHomeOpenedEvent)
			if !ok || ev.User != "U1" || ev.Channel != "D1" || ev.Tab != "home" || ev.EventTimeStamp == "" || ev.View == nil || ev.View.ID != published.ID {
				t.Errorf("app_home_opened = %#v", data)
			}
		}},
		{"app_home_opened before a publish", slacktest.AppHomeOpened("U2"), func(t *testing.T, data any) {
			if ev, ok := data.(*slackevents.AppHomeOpenedEvent); !ok || ev.View != nil {
				t.Errorf("app_home_opened of U2 = %#v, want no view", data)
			}
		}},
		{"reaction_added", slacktest.ReactionAdded("U2", "eyes", "C1", ts), func(t *testing.T, data any) {
			ev, ok := data.(*slackevents.ReactionAddedEvent)
			if !ok || ev.User != "U2" || ev.Reaction != "eyes" || ev.ItemUser != slacktest.BotUser || ev.Item.Channel != "C1" || ev.Item.Timestamp != ts {
				t.Errorf("reaction_added = %#v", data)
			}
		}},
		{"member_joined_channel", slacktest.MemberJoinedChannel(slacktest.BotUser, "G1"), func(t *testing.T, data any) {
			ev, ok := data.(*slackevents.MemberJoinedChannelEvent)
			if !ok || ev.User != slacktest.BotUser || ev.Channel != "G1" || ev.ChannelType != "G" || ev.Team != slacktest.Team {
				t.Errorf("member_joined_channel = %#v", data)
			}
		}},
		{"channel_created", slacktest.ChannelCreated("C9", "incidents", "U3"), func(t *testing.T, data any) {
			ev, ok := data.(*slackevents.ChannelCreatedEvent)
			if !ok || ev.Channel.ID != "C9" || ev.Channel.Name != "incidents" || ev.Channel.Creator != "U3" || ev.Channel.Created == 0 {
				t.Errorf("channel_created = %#v", data)
			}
		}},
		{"message", slacktest.ChannelMessage("U1", "C1", "all good?"), func(t *testing.T, data any) {
			ev, ok := data.(*slackevents.MessageEvent)
			if !ok || ev.User != "U1" || ev.Channel != "C1" || ev.ChannelType != "channel" || ev.Text != "all good?" {
				t.Errorf("message = %#v", data)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eventID, env := srv.SendEvent(tt.event)
			data, gotID := c.inner(t)
			if gotID != eventID {
				t.Errorf("event id %s, want %s", gotID, eventID)
			}
			tt.check(t, data)
			srv.WaitAck(t, env)
			// A retry carries the same event.
			srv.Retry(eventID)
			data, gotID = c.inner(t)
			if gotID != eventID {
				t.Errorf("retry's event id %s, want %s", gotID, eventID)
			}
			tt.check(t, data)
		})
	}
}

func TestPushOtherEvents(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	res, err := srv.PushEvent(t.Context(), rc.srv.URL, slacktest.ReactionAdded("U2", "white_check_mark", "C1", "1700000000.000100"))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("push = %+v, %v", res, err)
	}
	ev, ok := rc.last(t).event.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
	if !ok || ev.Reaction != "white_check_mark" || ev.ItemUser != "" {
		t.Errorf("reaction_added = %#v, want no item_user for a message the fake never saw", rc.last(t).event.InnerEvent.Data)
	}
	if _, err := srv.PushEvent(t.Context(), rc.srv.URL, slacktest.AppHomeOpened("U1")); err != nil {
		t.Fatal(err)
	}
	if ev, ok := rc.last(t).event.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); !ok || ev.Tab != "home" || ev.Channel != "D1" {
		t.Errorf("app_home_opened = %#v", rc.last(t).event.InnerEvent.Data)
	}
	if got := srv.Events(); len(got) != 2 || got[0].Type != "reaction_added" || got[1].Type != "app_home_opened" {
		t.Errorf("events = %+v", got)
	}
}
