// Command hello is the example bot: the smallest bot that shows every part
// of botkit a bot uses.
package main

import "github.com/botfleet/botfleet/pkg/botkit/botmain"

func main() { botmain.Main("hello", setup) }
