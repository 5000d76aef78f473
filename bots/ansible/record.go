package main

import (
	"encoding/json"

	"github.com/botfleet/botfleet/bots/ansible/internal/playbook"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
)

// deployData is what a deploy's job record keeps besides the job's own
// fields (jobs.Record.Data).
type deployData struct {
	Commit string `json:"commit,omitempty"` // of the playbook repo
	// Task is the failing task, or the running one when it stopped; Host
	// the host it failed on.
	Task  string               `json:"task,omitempty"`
	Host  string               `json:"host,omitempty"`
	Recap []playbook.HostRecap `json:"recap,omitempty"`
	Owner owner                `json:"owner,omitzero"`
}

// deploy is a deploy's job record, read.
type deploy struct {
	jobs.Record
	app, env, branch string
	deployData
}

func view(r jobs.Record) deploy {
	d := deploy{Record: r, app: r.Args["app"], env: r.Args["env"], branch: r.Args["branch"]}
	if len(r.Data) > 0 {
		_ = json.Unmarshal(r.Data, &d.deployData) // damaged: shown without
	}
	return d
}
