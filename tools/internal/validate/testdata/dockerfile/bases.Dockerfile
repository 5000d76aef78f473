ARG GO_IMAGE=golang
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:latest
ARG TOOLS_IMAGE
ARG MIRROR=registry.example.com
ARG PY_IMAGE=${MIRROR}/python:3.13-slim
FROM golang:1.26 AS build
RUN go build -o /bot .
FROM ${GO_IMAGE} AS gobuild
FROM ${TOOLS_IMAGE} AS tools
FROM ${PY_IMAGE} AS py
FROM ${UNDECLARED} AS undeclared
FROM ${GO_IMAGE}-alpine AS suffixed
FROM ${BASE_IMAGE}
COPY --from=build /bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
