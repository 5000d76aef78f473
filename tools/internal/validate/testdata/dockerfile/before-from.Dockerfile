ARG GO_IMAGE=golang:1.26
RUN echo hi
FROM ${GO_IMAGE} AS build
