package awsx_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/botfleet/botfleet/pkg/awsx"
	"github.com/botfleet/botfleet/pkg/awsx/awsfake"
)

const role = "arn:aws:iam::123456789012:role/ecs-bot-dev"

func newLoader() *awsx.Loader {
	return awsx.New(awsx.Options{Bot: "ecs", MaxBackoff: 5 * time.Millisecond})
}

func callerArn(t *testing.T, l *awsx.Loader, target awsx.Target) (string, error) {
	t.Helper()
	cfg, err := l.For(t.Context(), target)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

func TestSessionName(t *testing.T) {
	long := strings.Repeat("b", 70)
	tests := []struct{ name, bot, user, want string }{
		{"plain", "ecs", "U0123ABC", "ecs@U0123ABC"},
		{"no user", "ecs", "", "ecs"},
		{"bad characters", "my bot!", "U1/x y", "my-bot-@U1-x-y"},
		{"long bot keeps the user", long, "U0123ABC", strings.Repeat("b", 64-9) + "@U0123ABC"},
		{"long user is cut", "ecs", long, "e@" + strings.Repeat("b", 62)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := awsx.SessionName(tt.bot, tt.user)
			if got != tt.want {
				t.Errorf("SessionName(%q, %q) = %q, want %q", tt.bot, tt.user, got, tt.want)
			}
			if len(got) > awsx.MaxSessionName {
				t.Errorf("%d characters, over STS's %d", len(got), awsx.MaxSessionName)
			}
		})
	}
}

// TestLazy: New reads nothing, so a bot that never calls AWS never needs
// credentials or a region.
func TestLazy(t *testing.T) {
	fake := awsfake.New(t)
	fake.Env(t)
	l := newLoader()
	if n := len(fake.Calls("")); n != 0 {
		t.Fatalf("%d calls before any use", n)
	}
	t.Setenv("AWS_REGION", "")
	if _, err := l.For(t.Context(), awsx.Target{}); err != awsx.ErrNoRegion {
		t.Errorf("For without a region = %v, want ErrNoRegion", err)
	}
	cfg, err := l.For(t.Context(), awsx.Target{Region: "us-east-2"})
	if err != nil || cfg.Region != "us-east-2" {
		t.Errorf("For with a region = %q, %v", cfg.Region, err)
	}
}

func TestBaseCredentials(t *testing.T) {
	fake := awsfake.New(t)
	fake.Env(t)
	arn, err := callerArn(t, newLoader(), awsx.Target{User: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	if arn != "arn:aws:iam::123456789012:user/test" {
		t.Errorf("caller = %s, want the base user", arn)
	}
	if calls := fake.Calls("STS.GetCallerIdentity"); len(calls) != 1 || calls[0].AccessKey != awsfake.AccessKey {
		t.Errorf("calls = %+v, want one signed with the test key", calls)
	}
}

// TestAssumeRolePerUser: each Slack user gets a role session named after
// them, assumed once and cached.
func TestAssumeRolePerUser(t *testing.T) {
	fake := awsfake.New(t)
	fake.Env(t)
	l := newLoader()
	for _, user := range []string{"U1", "U2", "U1", "U2", "U1"} {
		arn, err := callerArn(t, l, awsx.Target{RoleARN: role, User: user})
		if err != nil {
			t.Fatal(err)
		}
		if want := "arn:aws:sts::123456789012:assumed-role/ecs-bot-dev/ecs@" + user; arn != want {
			t.Errorf("caller = %s, want %s", arn, want)
		}
	}
	sessions := fake.Sessions()
	if len(sessions) != 2 || sessions[0].Name != "ecs@U1" || sessions[1].Name != "ecs@U2" || sessions[0].RoleARN != role {
		t.Errorf("sessions = %+v, want one per user", sessions)
	}
	for _, c := range fake.Calls("STS.AssumeRole") {
		if c.AccessKey != awsfake.AccessKey {
			t.Errorf("AssumeRole signed with %s, want the base key", c.AccessKey)
		}
	}
}

func TestExplain(t *testing.T) {
	fake := awsfake.New(t)
	fake.Env(t)

	t.Run("denied role", func(t *testing.T) {
		fake.DenyRole(role)
		_, err := callerArn(t, newLoader(), awsx.Target{RoleARN: role, User: "U1"})
		msg, ok := awsx.Explain(err)
		if !ok || !strings.HasPrefix(msg, "I could not get AWS credentials for STS GetCallerIdentity: AccessDenied: ") || !strings.Contains(msg, role) {
			t.Errorf("Explain(%v) = %q, %v", err, msg, ok)
		}
	})
	t.Run("throttled past the retries", func(t *testing.T) {
		fake.FailAlways("STS.GetCallerIdentity", awsfake.Errf("Throttling", "Rate exceeded"))
		defer fake.FailAlways("STS.GetCallerIdentity", nil)
		before := len(fake.Calls("STS.GetCallerIdentity"))
		// Each throttle slows the adaptive client down (about a second at
		// first), so this test tries twice where the default is 5.
		_, err := callerArn(t, awsx.New(awsx.Options{MaxAttempts: 2, MaxBackoff: time.Millisecond}), awsx.Target{})
		msg, _ := awsx.Explain(err)
		if msg != "AWS is throttling STS GetCallerIdentity (still after retries); try again in a minute." {
			t.Errorf("Explain(%v) = %q", err, msg)
		}
		if n := len(fake.Calls("STS.GetCallerIdentity")) - before; n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
	t.Run("throttled once is retried", func(t *testing.T) {
		fake.Fail("STS.GetCallerIdentity", 1, awsfake.Throttling())
		l := newLoader()
		if _, err := callerArn(t, l, awsx.Target{}); err != nil {
			t.Errorf("a throttle then success: %v", err)
		}
		cfg, _ := l.Config(t.Context())
		if _, ok := cfg.Retryer().(*retry.AdaptiveMode); !ok {
			t.Errorf("retryer is %T, want adaptive mode", cfg.Retryer())
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		_, err := callerArn(t, newLoader(), awsx.Target{})
		msg, ok := awsx.Explain(err)
		if !ok || !strings.HasPrefix(msg, "I have no AWS credentials for STS GetCallerIdentity") {
			t.Errorf("Explain(%v) = %q, %v", err, msg, ok)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSOMEONEELSE")
		_, err := callerArn(t, newLoader(), awsx.Target{})
		if msg, _ := awsx.Explain(err); !strings.HasPrefix(msg, "AWS denied STS GetCallerIdentity: ") {
			t.Errorf("Explain(%v) = %q", err, msg)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
		l := awsx.New(awsx.Options{MaxAttempts: 1})
		_, err := callerArn(t, l, awsx.Target{})
		if msg, _ := awsx.Explain(err); !strings.HasPrefix(msg, "I cannot reach the AWS endpoint for STS GetCallerIdentity") {
			t.Errorf("Explain(%v) = %q", err, msg)
		}
	})
	t.Run("no such profile", func(t *testing.T) {
		t.Setenv("AWS_PROFILE", "nosuch")
		_, err := callerArn(t, newLoader(), awsx.Target{})
		if err == nil || err.Error() != "loading AWS config: failed to get shared config profile, nosuch" {
			t.Errorf("err = %v, want the SDK's error wrapped once", err)
		}
		msg, ok := awsx.Explain(err)
		want := "There is no AWS profile `nosuch` (AWS_PROFILE) in " + os.Getenv("AWS_CONFIG_FILE") + " or " + os.Getenv("AWS_SHARED_CREDENTIALS_FILE") +
			": `aws configure list-profiles` lists yours, or unset AWS_PROFILE."
		if !ok || msg != want {
			t.Errorf("Explain(%v) = %q, %v", err, msg, ok)
		}
	})
	if _, ok := awsx.Explain(context.Canceled); ok {
		t.Error("Explain knows a plain context.Canceled")
	}
}

// syncBuffer is a bytes.Buffer safe for the SDK's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSDKLogsToSlog: the SDK's own log lines, here the warning it writes
// when an instance metadata endpoint refuses IMDSv2 tokens, go to the
// Loader's slog logger, not to stderr.
func TestSDKLogsToSlog(t *testing.T) {
	fake := awsfake.New(t)
	fake.Env(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut { // the IMDSv2 token
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
	}))
	defer imds.Close()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)

	var logs syncBuffer
	l := awsx.New(awsx.Options{Bot: "ecs", MaxAttempts: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	_, err := callerArn(t, l, awsx.Target{})
	if msg, _ := awsx.Explain(err); !strings.HasPrefix(msg, "I have no AWS credentials for STS GetCallerIdentity") {
		t.Errorf("Explain(%v) = %q", err, msg)
	}
	got := logs.String()
	if !strings.Contains(got, `"level":"WARN","msg":"falling back to IMDSv1: `) || !strings.Contains(got, `"component":"aws-sdk"`) {
		t.Errorf("the SDK's warning is not in the slog output:\n%s", got)
	}
}

func TestCheckFake(t *testing.T) {
	tests := []struct {
		name, env, key string
		fake, refused  bool
	}{
		{"real key in prd", "prd", "AKIAIOSFODNN7EXAMPLE", false, false},
		{"no key in dev", "dev", "", false, false},
		{"fake locally", "local", awsx.FakeAccessKey, true, false},
		{"fake in dev", "dev", awsx.FakeAccessKey, true, true},
		{"fake in prd", "prd", awsx.FakeAccessKey, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AWS_ACCESS_KEY_ID": tt.key, "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
			fake, err := awsx.CheckFake(tt.env, func(k string) string { return env[k] })
			if fake != tt.fake || (err != nil) != tt.refused {
				t.Fatalf("CheckFake = %v, %v; want fake %v, refused %v", fake, err, tt.fake, tt.refused)
			}
			if err != nil && (!strings.Contains(err.Error(), "only for BOT_ENV=local") || !strings.Contains(err.Error(), "http://127.0.0.1:4566")) {
				t.Errorf("refusal does not say why and where: %v", err)
			}
		})
	}
}
