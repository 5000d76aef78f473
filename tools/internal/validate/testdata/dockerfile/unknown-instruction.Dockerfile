FROM golang:1.26 AS build
RUN go build -o /bot .
COPYY /bot /bot
