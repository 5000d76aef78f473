ARG GO_IMAGE=golang:1.26
FROM ${GO_IMAGE}
COPY . .
RUN go build -o /bot .
USER 65532
ENTRYPOINT ["/bot"]
