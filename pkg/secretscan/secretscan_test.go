package secretscan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name, key, v, want string
	}{
		{"slack bot token", "state_dir", "xoxb-12345-notarealtoken", "a Slack token"},
		{"slack app token", "channel", "xapp-1-A0123-456789-abcdef", "a Slack app token"},
		{"aws access key id", "admins[1]", "AKIAIOSFODNN7EXAMPLE", "an AWS access key id"},
		{"private key", "state_dir", "-----BEGIN TEST PRIVATE KEY-----\nabc", "a private key"},
		{"aws secret anywhere", "playbook", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", AWSSecretKey},
		{"aws secret like a path, under a secret's name", "aws_secret", "/JalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", AWSSecretKey},
		{"a path of 40 such characters", "state_dir", "/tmp/TestEndToEnd120592250/002/playbooks", ""},
		{"a relative path", "state_dir", "./efs/state/AnsibleBot2/deploys/Logs20261", ""},
		{"a git SHA", "ref", "3d3c42e5aac5ba805825da76410c181273ba90b1", ""},
		{"41 characters", "x", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYS", ""},
		{"no digit", "x", "wJalrXUtnFEMI/KzMDENG/bPxRfiCYEXAMPLEKEY", ""},
		{"a word", "greeting", "Hello", ""},
		{"xoxb without a body", "x", "xoxb-", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Value(tt.key, tt.v); got != tt.want {
				t.Errorf("Value(%q, …) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	text := "# a config\n" +
		"token: xoxb-12345-notarealtoken and xapp-1-A0123-456789-abcdef\n" +
		"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n" +
		"path: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n" + // no secret's name before it
		"sha: 3d3c42e5aac5ba805825da76410c181273ba90b1 secret\n" +
		"-----BEGIN TEST PRIVATE KEY-----\n" +
		"id: AKIAIOSFODNN7EXAMPLE"
	want := []Finding{
		{Line: 2, What: "a Slack token", Match: "xoxb-12345-notarealtoken"},
		{Line: 2, What: "a Slack app token", Match: "xapp-1-A0123-456789-abcdef"},
		{Line: 3, What: AWSSecretKey, Match: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		{Line: 6, What: "a private key", Match: "-----BEGIN TEST PRIVATE KEY-----"},
		{Line: 7, What: "an AWS access key id", Match: "AKIAIOSFODNN7EXAMPLE"},
	}
	if diff := cmp.Diff(want, Text([]byte(text))); diff != "" {
		t.Errorf("Text (-want +got):\n%s", diff)
	}
	if got := Text([]byte("nothing to see\nhere\n")); len(got) != 0 {
		t.Errorf("Text of a clean file = %v", got)
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"key xoxb-123456-abcdef: unknown key", "key [redacted]: unknown key"},
		{"key XOXB-123456-ABCDEF.name", "key [redacted].name"},
		{"apps.akiaabcdefghijklmnop: bad", "apps.[redacted]: bad"},
		{"nothing to hide here", "nothing to hide here"},
	} {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
