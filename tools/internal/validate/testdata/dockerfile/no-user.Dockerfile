ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
FROM ${GO_IMAGE} AS build
# A USER in another stage does not count.
USER 65532
RUN go build -o /bot .
FROM ${BASE_IMAGE}
COPY --from=build /bot /bot
ENTRYPOINT ["/bot"]
