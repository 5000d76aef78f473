# check=skip=JSONArgsRecommended,FromAsCasing
ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
FROM ${GO_IMAGE} as build
RUN go build -o /bot .
FROM ${BASE_IMAGE}
COPY --from=build /bot /bot
USER 65532:65532
ENTRYPOINT /bot
