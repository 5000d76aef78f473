// Package maketest tests the repo's Makefile and .ci scripts as a new user
// meets them: make help in a pipe, make bot's errors, make run's first
// line, and .ci/need, which make test runs first. It has no code of its
// own: the tests run make and bash on copies of the repo's files.
package maketest
