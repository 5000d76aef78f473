package ecsfake

import (
	"strings"
	"testing"
)

func TestCheckImage(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	repo := Registry + "/botfleet/api"
	tests := []struct {
		img  string
		want string // in the error; "" when ECS takes it
	}{
		{repo + ":v1", ""},
		{repo, ""},
		{"nginx:1.27", ""},
		{"ghcr.io/org/app:v1#build", ""},
		{repo + "@sha256:" + hex64, ""},
		{repo + "@sha256:" + strings.ToUpper(hex64), ""},
		{repo + ":v1@sha256:" + hex64, ""},
		{"", "an image is required"},
		{repo + "@sha256:" + hex64[:63], "exactly 64 hex digits"},
		{repo + "@sha256:" + hex64 + "0", "exactly 64 hex digits"},
		{repo + "@sha512:" + hex64 + hex64, "sha256:"},
		{repo + "@sha256:" + hex64[:63] + "g", "exactly 64 hex digits"},
		{repo + "@" + hex64, "sha256:"},
		{repo + "@sha256:" + hex64 + "@sha256:" + hex64, "sha256:"},
		{repo + ":v 1", "letters, digits"},
		{"@sha256:" + hex64, "1 to 255"},
		{strings.Repeat("a", 256), "1 to 255"},
		{strings.Repeat("a", 255) + "@sha256:" + hex64, ""},
	}
	for _, tt := range tests {
		err := checkImage(tt.img)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v, want it taken", tt.img, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: %v, want an error saying %q", tt.img, err, tt.want)
		}
	}
}
