// Package testenv holds what tests of the tools module share about the
// machine they run on. It is imported by tests only.
package testenv

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// NoSumDB points every go command the test process starts at a checksum database that cannot be reached, as on a machine
// behind a module proxy. The database has a name of its own, so no lookup
// that the module cache remembers from sum.golang.org can stand in for it:
// any module a go.sum lacks fails at once instead of passing on a machine
// that happened to look it up before.
// Call it from TestMain, before any test starts.
func NoSumDB() {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	// A closed loopback port: the lookup fails at once, never leaving the host.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	l.Close()
	os.Setenv("GOSUMDB", verifierKey("botfleet-unreachable.test", pub)+" http://"+addr)
	os.Setenv("GONOSUMDB", "")
	os.Setenv("GOPRIVATE", "")
}

// verifierKey encodes pub as a checksum database verifier key
// (golang.org/x/mod/sumdb/note): name+hash+base64(alg||key), where hash is
// the first four bytes of SHA-256(name "\n" alg||key) and alg 1 is Ed25519.
func verifierKey(name string, pub ed25519.PublicKey) string {
	key := append([]byte{1}, pub...)
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	hash := binary.BigEndian.Uint32(h.Sum(nil))
	return fmt.Sprintf("%s+%08x+%s", name, hash, base64.StdEncoding.EncodeToString(key))
}

// Program returns the path of a program a test runs, found on PATH. When it
// is missing the test stops with the command that installs it: it fails under
// CI (CI set, as CI services and .ci/run set it), so that CI never passes
// without running it, and is skipped elsewhere.
func Program(tb testing.TB, name, install string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found; this test runs the real one: %s", name, install)
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Line returns "base:line" of the first line of file that matches re (a
// regular expression), so that a test expecting a position the code shows
// follows the code when it moves. The test stops when no line matches.
func Line(tb testing.TB, file, re string) string {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	rx := regexp.MustCompile(re)
	for i, l := range strings.Split(string(data), "\n") {
		if rx.MatchString(l) {
			return fmt.Sprintf("%s:%d", filepath.Base(file), i+1)
		}
	}
	tb.Fatalf("no line of %s matches %s", file, re)
	return ""
}
