# check=skip=JSONArgsRecommended,FromAsCasing
FROM golang:1.26 as build
RUN go build -o /bot .
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /bot /bot
USER 65532:65532
ENTRYPOINT /bot
