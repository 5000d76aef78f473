//go:build bench

package fleetbench

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBurst builds bin/hello and the minimal bot, as their images are, and
// runs a small burst through both and the fake alone, so that the harness
// the benchmark relies on is tested. It builds whole binaries with their
// own build flags (minutes on a cold build cache), so it runs with the
// benchmarks, in make bench (-tags=bench), not in make test.
func TestBurst(t *testing.T) {
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bins, err := Build(t.Context(), root, t.TempDir(), "hello", "minimalbot")
	if err != nil {
		t.Fatal(err)
	}
	const n = 50 // within botkit's default queue
	for _, bot := range []Bot{
		{Name: "botkit", Path: bins["hello"], Dir: filepath.Join(root, "bots", "hello"), Env: helloEnv(root)},
		{Name: "minimal", Path: bins["minimalbot"], Dir: t.TempDir()},
	} {
		t.Run(bot.Name, func(t *testing.T) {
			r, err := Burst(t, bot, n, 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if r.AcksPerSec <= 0 || r.RepliesPerSec <= 0 || r.AckP50 <= 0 || r.AckP99 < r.AckP50 {
				t.Errorf("timings not measured: %+v", r)
			}
			if r.StartRSS <= 0 || r.PeakRSS < r.IdleRSS || r.IdleRSS <= 0 {
				t.Errorf("memory not measured: %+v", r)
			}
			if r.Calls["chat.postMessage"] != n {
				t.Errorf("%d chat.postMessage calls, want %d", r.Calls["chat.postMessage"], n)
			}
		})
	}
	t.Run("bot that exits", func(t *testing.T) {
		// minimalbot refuses to start without tokens: Burst must say so, not hang.
		_, err := Burst(t, Bot{Name: "broken", Path: bins["minimalbot"], Dir: t.TempDir(), Env: []string{"SLACK_APP_TOKEN="}}, n, 0)
		if err == nil || errors.As(err, new(*RepliesError)) || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN and SLACK_APP_TOKEN") {
			t.Errorf("Burst of a bot that exits: err = %v, want its log", err)
		}
	})
	t.Run("fake alone", func(t *testing.T) {
		rate, err := Delivery(t, 200)
		if err != nil || rate <= 0 {
			t.Errorf("Delivery = %v, %v", rate, err)
		}
	})
}
