FROM golang:1.26
COPY . .
RUN go build -o /bot .
USER 65532
ENTRYPOINT ["/bot"]
