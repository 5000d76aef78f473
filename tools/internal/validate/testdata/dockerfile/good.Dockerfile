# syntax=docker/dockerfile:1
# A bot's image as the repo wants it: bases named by tag on their FROM
# lines, a build stage, a final stage with only the binary, a numeric user.
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
ARG VERSION=dev
RUN go build -ldflags="-X main.version=${VERSION}" -o /out/bot .

# A test stage on the build stage: bases may be earlier stages.
FROM build AS test
RUN go vet ./...

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bot /bot
USER 65532:65532
ENTRYPOINT ["/bot"]
