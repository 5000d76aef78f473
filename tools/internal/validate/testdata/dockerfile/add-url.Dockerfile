FROM golang:1.26 AS build
ADD https://example.com/tool.tar.gz /tmp/
ADD git@github.com:example/repo.git /src
# A local file is fine (though COPY says it better).
ADD go.mod /src/
RUN go build -o /bot .
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
