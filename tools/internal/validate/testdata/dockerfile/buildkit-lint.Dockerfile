ARG API_TOKEN=none
FROM golang:1.26 as Build
maintainer someone@example.com
WORKDIR src
ENV GOFLAGS -trimpath
RUN go build \

    -o /bot .
FROM golang:1.26 AS build
FROM gcr.io/distroless/static-debian12:nonroot AS final
COPY --from=build /bot /bot
USER 65532:65532
CMD ["/bot"]
ENTRYPOINT /bot
CMD ["/bot", "-version"]
