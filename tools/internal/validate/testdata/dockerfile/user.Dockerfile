ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
FROM ${GO_IMAGE} AS build
RUN go build -o /bot .
FROM ${BASE_IMAGE}
COPY --from=build /bot /bot
USER 65532
# The last USER counts.
USER nonroot
ENTRYPOINT ["/bot"]
