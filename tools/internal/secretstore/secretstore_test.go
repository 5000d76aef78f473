package secretstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/awsx/awsfake"
	"github.com/botfleet/botfleet/tools/internal/secretstore"
	"github.com/botfleet/botfleet/tools/internal/smfake"
)

const (
	botToken = "xoxb-1-test-bot-token"
	appToken = "xapp-1-A1-test-app-token"
	// webhookToken is what `openssl rand -hex 32` makes.
	webhookToken = "3f9c2a7d41b8e6c05d2f9a1b7c3e8d4f6a0b2c9e1d7f3a5b8c4e6d2f0a9b1c3e"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  string
	}{
		{name: "two tokens", in: "# hello dev\nSLACK_BOT_TOKEN=" + botToken + "\n\n SLACK_APP_TOKEN = " + appToken + "\n",
			want: map[string]string{"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken}},
		{name: "a bare token", in: botToken + "\n", wantErr: "line 1: want KEY=VALUE"},
		{name: "unknown key", in: "SLACK_TOKEN=" + botToken, wantErr: `unknown key "SLACK_TOKEN"`},
		{name: "app token as bot token", in: "SLACK_BOT_TOKEN=" + appToken, wantErr: "SLACK_BOT_TOKEN must start with xoxb-"},
		{name: "empty", in: "SLACK_APP_TOKEN=", wantErr: "SLACK_APP_TOKEN is empty"},
		{name: "twice", in: "SLACK_BOT_TOKEN=" + botToken + "\nSLACK_BOT_TOKEN=" + botToken, wantErr: "line 2: SLACK_BOT_TOKEN given twice"},
		{name: "nothing", in: "\n# nothing\n", wantErr: "no KEY=VALUE lines"},
		{name: "the bot's webhook token", in: "HELLO_WEBHOOK_TOKEN=" + webhookToken,
			want: map[string]string{"HELLO_WEBHOOK_TOKEN": webhookToken}},
		{name: "another bot's webhook token", in: "ALERTS_WEBHOOK_TOKEN=" + webhookToken, wantErr: `unknown key "ALERTS_WEBHOOK_TOKEN"; the keys are SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET and HELLO_WEBHOOK_*`},
		{name: "a short webhook token", in: "HELLO_WEBHOOK_TOKEN=test-bot-token", wantErr: "HELLO_WEBHOOK_TOKEN has 14 characters, want at least 32: make it with `openssl rand -hex 32`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretstore.Parse(strings.NewReader(tt.in), "hello")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "test-bot-token") || strings.Contains(err.Error(), "test-app-token") {
					t.Errorf("error %q quotes a token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func client(f *smfake.Fake) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{Region: awsfake.Region, BaseEndpoint: aws.String(f.URL),
		Credentials: aws.NewCredentialsCache(credentials{})})
}

type credentials struct{}

func (credentials) Retrieve(_ context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: awsfake.AccessKey, SecretAccessKey: awsfake.SecretKey}, nil
}

func TestPutMerges(t *testing.T) {
	f := smfake.New(t)
	s := secretstore.New(client(f))
	name := secretstore.Name("hello", "dev")
	if name != "botfleet/dev/hello" {
		t.Fatalf("Name = %s", name)
	}
	if id, err := s.Tag(t.Context(), name, secretstore.AppIDTag); err != nil || id != "" {
		t.Fatalf("Tag of a missing secret = %q, %v; want \"\", nil", id, err)
	}
	keys, err := s.Put(t.Context(), name, map[string]string{"SLACK_SIGNING_SECRET": "s1"}, map[string]string{secretstore.AppIDTag: "A1"})
	if err != nil || !cmp.Equal(keys, []string{"SLACK_SIGNING_SECRET"}) {
		t.Fatalf("first put = %v, %v", keys, err)
	}
	keys, err = s.Put(t.Context(), name, map[string]string{"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken}, nil)
	if err != nil || !cmp.Equal(keys, []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}) {
		t.Fatalf("second put = %v, %v", keys, err)
	}
	// The same values again make no new version: the bot does not restart.
	if _, err := s.Put(t.Context(), name, map[string]string{"SLACK_BOT_TOKEN": botToken}, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"SLACK_SIGNING_SECRET":"s1"}`,
		`{"SLACK_APP_TOKEN":"` + appToken + `","SLACK_BOT_TOKEN":"` + botToken + `","SLACK_SIGNING_SECRET":"s1"}`}
	if diff := cmp.Diff(want, f.Versions(name)); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if id, err := s.Tag(t.Context(), name, secretstore.AppIDTag); err != nil || id != "A1" {
		t.Errorf("Tag = %q, %v; want A1", id, err)
	}
}

func TestPutRefusesAForeignSecret(t *testing.T) {
	f := smfake.New(t)
	s := secretstore.New(client(f))
	f.Handle(smfake.Target+"GetSecretValue", func([]byte) (any, error) {
		return map[string]any{"Name": "botfleet/dev/hello", "SecretString": "xoxb-1-not-json-secret"}, nil
	})
	_, err := s.Put(t.Context(), "botfleet/dev/hello", map[string]string{"SLACK_BOT_TOKEN": botToken}, nil)
	if err == nil || !strings.Contains(err.Error(), "does not hold a JSON object") || strings.Contains(err.Error(), "not-json-secret") {
		t.Fatalf("err = %v, want a refusal that does not quote the value", err)
	}
	if got := f.Calls(smfake.Target + "PutSecretValue"); len(got) != 0 {
		t.Errorf("PutSecretValue called %d times, want none", len(got))
	}
}

func TestARNPattern(t *testing.T) {
	got := secretstore.ARNPattern("aws", "eu-west-1", "123456789012", "hello", "dev")
	if want := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:botfleet/dev/hello-??????"; got != want {
		t.Errorf("ARNPattern = %s, want %s", got, want)
	}
}
