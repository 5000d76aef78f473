package jobs

// Config is what a bot's config file says of its jobs; a bot's config
// struct holds it under a key of its own, jobs:
//
//	jobs:
//	  state_dir: /efs/state/ecs/jobs
//	  cancel: {groups: [S0SRE]}
type Config struct {
	// StateDir is the directory shared by every process of the bot; it is
	// read at start only.
	StateDir string `yaml:"state_dir"`
	// Cancel names who may cancel other people's jobs; anyone may cancel
	// their own.
	Cancel Principals `yaml:"cancel"`
}
