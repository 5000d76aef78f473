ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
FROM ${GO_IMAGE} AS build
ADD https://example.com/tool.tar.gz /tmp/
ADD git@github.com:example/repo.git /src
# A local file is fine (though COPY says it better).
ADD go.mod /src/
RUN go build -o /bot .
FROM ${BASE_IMAGE}
COPY --from=build /bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
