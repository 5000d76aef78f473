ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=debian:12-slim
FROM ${GO_IMAGE} AS build
RUN go build -o /bot .
FROM ${BASE_IMAGE}
COPY --from=build /bot /bot
USER 65532:1000
ENTRYPOINT ["/bot"]
