// Command ecs shows and changes ECS services from Slack: it lists services
// and their images, deploys ECR image tags and follows the rollout, rolls
// back and scales. It is the reference for bots that call AWS.
package main

import "github.com/botfleet/botfleet/pkg/botkit/botmain"

func main() { botmain.Main("ecs", setup) }
