ARG GO_IMAGE=golang:1.26
ARG MIRROR=registry.example.com
FROM ${GO_IMAGE} AS build
RUN go build -o /bot .
FROM $MIRROR/python:3.13-slim AS py
FROM ${UNDECLARED} AS undeclared
FROM golang AS untagged
FROM gcr.io/distroless/static-debian12:latest AS latest
  FROM golang:1.26 AS indented
FROM \
    golang:1.26 AS continued
# Dependabot reads these three.
FROM --platform=$BUILDPLATFORM golang:1.26 AS cross
FROM registry.example.com:5000/team/go:1.26-bookworm AS mirrored
FROM build AS test
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
