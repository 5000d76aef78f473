package botkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("xoxb-123-secret")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", s, "group", slog.GroupValue(slog.Any("t", s)))
	js, _ := json.Marshal(struct{ T Secret }{s})
	out := fmt.Sprintf("%v %s %+v %#v %q", s, s, s, s, s) + logs.String() + string(js)
	if strings.Contains(out, "secret") {
		t.Errorf("secret leaked: %s", out)
	}
	if s.Reveal() != "xoxb-123-secret" {
		t.Error("Reveal lost the value")
	}
}
