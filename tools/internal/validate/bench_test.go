package validate

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkValidate50Bots validates a repo of 50 bots (hello and 49 copies):
// 100 overlays and manifests/. Target: under 5 s per run on the 2-core CI
// machine.
func BenchmarkValidate50Bots(b *testing.B) {
	var bots []string
	for i := range 49 {
		bots = append(bots, fmt.Sprintf("bot%02d", i))
	}
	mem := fixture(b, bots...)
	v := &Validator{FS: mem, Root: memRoot}
	for b.Loop() {
		start := time.Now()
		rep, err := v.Run(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Problems) > 0 {
			b.Fatalf("%d problems, first: %s", len(rep.Problems), rep.Problems[0])
		}
		if d := time.Since(start); d > 5*time.Second {
			b.Errorf("validate of 50 bots took %s, want < 5s", d)
		}
	}
}
