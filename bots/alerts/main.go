// Command alerts is a Slack bot on botkit. It starts as a copy of the
// example bot (make bot NAME=x): the smallest bot that shows every part of
// botkit a bot uses. Its commands live in alerts.go.
package main

import "github.com/botfleet/botfleet/pkg/botkit/botmain"

func main() { botmain.Main("alerts", setup) }
