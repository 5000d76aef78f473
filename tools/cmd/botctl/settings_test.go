package main

import (
	"strings"
	"testing"
)

func TestSettings(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{
			name:    "one key",
			args:    []string{"aws.region"},
			wantOut: "eu-west-1\n",
		},
		{
			name:    "several keys, nested, in order",
			args:    []string{"aws.ecrRegistry", "environments.prd.namespace", "aws.imagePrefix"},
			wantOut: "123456789012.dkr.ecr.eu-west-1.amazonaws.com\ninfra-bot-prd\nbotfleet\n",
		},
		{
			name:    "a quoted number stays a string",
			args:    []string{"kubernetes.version"},
			wantOut: "1.34\n",
		},
		{
			name:     "no key",
			args:     nil,
			wantCode: exitUsage,
			wantErr:  "settings takes one or more keys",
		},
		{
			name:     "unknown key names the choices",
			args:     []string{"aws.regoin"},
			wantCode: exitUsage,
			wantErr:  `key "aws.regoin": no "regoin" in aws; want one of aws.accountID, aws.ecrRegistry, aws.imagePrefix, aws.oidcProvider, aws.permissionsBoundary, aws.region, aws.roleARN`,
		},
		{
			name:     "unknown top-level key",
			args:     []string{"nope"},
			wantCode: exitUsage,
			wantErr:  `no "nope" in botfleet.yaml; want one of argocd, aws, environments, git, kubernetes`,
		},
		{
			name:     "a map is not a value",
			args:     []string{"environments.dev.efs"},
			wantCode: exitUsage,
			wantErr:  `key "environments.dev.efs" is a map; ask for one of environments.dev.efs.accessPointID, environments.dev.efs.fileSystemID`,
		},
		{
			name:     "past a value",
			args:     []string{"aws.region.x"},
			wantCode: exitUsage,
			wantErr:  `key "aws.region.x": aws.region is a value, not a map`,
		},
		{
			name:     "a bad key prints nothing, not even the good ones before it",
			args:     []string{"aws.region", "aws.nope"},
			wantCode: exitUsage,
			wantErr:  `no "nope" in aws`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"--repo", repoDir, "settings"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, errs)
			}
			if out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if !strings.Contains(errs, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errs, tt.wantErr)
			}
		})
	}
}
