FROM golang:1.26 AS build
RUN go build -o /bot .
FROM debian:12-slim
COPY --from=build /bot /bot
USER 65532:1000
ENTRYPOINT ["/bot"]
