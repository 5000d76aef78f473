// Command ansible deploys a Git branch of an app to an environment from
// Slack, by running ansible-playbook from a playbook repo on EFS.
package main

import "github.com/botfleet/botfleet/pkg/botkit/botmain"

func main() { botmain.Main("ansible", setup) }
