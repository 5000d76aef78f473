ARG VERSION=dev
RUN echo hi
FROM golang:1.26 AS build
