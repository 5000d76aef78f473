ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
ARG API_TOKEN=none
FROM ${GO_IMAGE} as Build
maintainer someone@example.com
WORKDIR src
ENV GOFLAGS -trimpath
RUN go build \

    -o /bot .
FROM ${GO_IMAGE} AS build
FROM ${BASE_IMAGE} AS final
COPY --from=build /bot /bot
USER 65532:65532
CMD ["/bot"]
ENTRYPOINT /bot
CMD ["/bot", "-version"]
