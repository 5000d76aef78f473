ARG GO_IMAGE=golang:1.26
FROM ${GO_IMAGE} AS build
RUN go build -o /bot .
COPYY /bot /bot
