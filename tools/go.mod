module github.com/botfleet/botfleet/tools

go 1.26
