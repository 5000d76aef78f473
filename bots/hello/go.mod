module github.com/botfleet/botfleet/bots/hello

go 1.26

require github.com/botfleet/botfleet/pkg v0.0.0

replace github.com/botfleet/botfleet/pkg => ../../pkg
