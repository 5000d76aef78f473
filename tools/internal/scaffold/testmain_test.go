package scaffold

import (
	"os"
	"testing"

	"github.com/botfleet/botfleet/tools/internal/testenv"
)

// TestMain makes every go command the tests start behave as on a machine
// whose module proxy is reachable but whose checksum database is not.
func TestMain(m *testing.M) {
	testenv.NoSumDB()
	os.Exit(m.Run())
}
