FROM golang:1.26 AS build
# A USER in another stage does not count.
USER 65532
RUN go build -o /bot .
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /bot /bot
ENTRYPOINT ["/bot"]
