package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/tools/internal/smfake"
)

// runIn runs botctl with stdin.
func runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runStdin(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSecretsPut(t *testing.T) {
	f := smfake.New(t)
	f.Env(t)
	const bot, app = "xoxb-1-botctl-test-bot", "xapp-1-A1-botctl-test-app"
	tests := []struct {
		name, stdin string
		args        []string
		wantCode    int
		wantOut     string // in stdout, or in stderr when the command fails
		wantPuts    int    // versions of the secret after the call
	}{
		{name: "token as an argument", args: []string{"secrets", "put", "hello", "--env", "dev", "SLACK_BOT_TOKEN=" + bot},
			wantCode: exitUsage, wantOut: "argument 8 holds a Slack token: never pass a token as an argument"},
		{name: "token as a flag value", args: []string{"secrets", "put", "hello", "--env=" + bot},
			wantCode: exitUsage, wantOut: "argument 6 holds a Slack token"},
		{name: "bare token on stdin", stdin: bot + "\n", args: []string{"secrets", "put", "hello", "--env", "dev"},
			wantCode: exitUsage, wantOut: "stdin: line 1: want KEY=VALUE"},
		{name: "unknown bot", stdin: "SLACK_BOT_TOKEN=" + bot, args: []string{"secrets", "put", "nobot", "--env", "dev"},
			wantCode: exitUsage, wantOut: "no bot nobot"},
		{name: "unknown env", stdin: "SLACK_BOT_TOKEN=" + bot, args: []string{"secrets", "put", "hello", "--env", "stg"},
			wantCode: exitUsage, wantOut: "--env stg: the environments are dev, prd"},
		{name: "two tokens", stdin: "SLACK_BOT_TOKEN=" + bot + "\nSLACK_APP_TOKEN=" + app + "\n", args: []string{"secrets", "put", "hello", "--env", "dev"},
			wantOut: "stored SLACK_APP_TOKEN, SLACK_BOT_TOKEN in botfleet/dev/hello", wantPuts: 1},
		{name: "signing secret added", stdin: "SLACK_SIGNING_SECRET=abc\n", args: []string{"secrets", "put", "hello", "--env", "dev"},
			wantOut: "(it holds SLACK_APP_TOKEN, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)", wantPuts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runIn(t, tt.stdin, append([]string{"--repo", repoDir}, tt.args...)...)
			got := out
			if code != exitOK {
				got = errs
			}
			if code != tt.wantCode || !strings.Contains(got, tt.wantOut) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errs, tt.wantCode, tt.wantOut)
			}
			if strings.Contains(out+errs, "botctl-test") {
				t.Errorf("output quotes a token: %q %q", out, errs)
			}
			if n := len(f.Versions("botfleet/dev/hello")); n != tt.wantPuts {
				t.Errorf("secret has %d versions, want %d", n, tt.wantPuts)
			}
		})
	}
}
