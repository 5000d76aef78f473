# syntax=docker/dockerfile:1
# A bot's image as the repo wants it: bases from build args named by tag,
# a build stage, a final stage with only the binary, a numeric user.
ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY . .
RUN go build -o /out/bot .

# A test stage on the build stage: bases may be earlier stages.
FROM build AS test
RUN go vet ./...

FROM $BASE_IMAGE
COPY --from=build /out/bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
