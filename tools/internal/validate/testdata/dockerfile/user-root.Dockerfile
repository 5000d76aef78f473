FROM golang:1.26 AS build
RUN go build -o /bot .
FROM debian:12-slim
COPY --from=build /bot /bot
USER 0:0
ENTRYPOINT ["/bot"]
