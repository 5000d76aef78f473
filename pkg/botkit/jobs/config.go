package jobs

// Config is what a bot's config file says of its jobs; a bot's config
// struct holds it under a key of its own, jobs:
//
//	jobs:
//	  cancel: {groups: [S0SRE]}
//
// The jobs themselves live in the bot's state directory (Dir).
type Config struct {
	// Cancel names who may cancel other people's jobs; anyone may cancel
	// their own.
	Cancel Principals `yaml:"cancel"`
}

// RetiredStateDir is what a config that still names a jobs state
// directory is told (see config.Retirer).
const RetiredStateDir = "jobs live in $BOT_STATE_DIR/jobs: set BOT_STATE_DIR (the bot's state directory, /efs/state/<bot> in a pod) instead"
