FROM golang:1.26 AS build
RUN go build -o /bot .
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /bot /bot
USER 65532
# The last USER counts.
USER nonroot
ENTRYPOINT ["/bot"]
