# The operator image: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG VERSION=v0.0.0-dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/dittofs/dittofs-operator/pkg/version.Version=${VERSION}" \
    -o /out/dittofs-operator ./cmd/dittofs-operator

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/dittofs-operator /dittofs-operator
USER 65532:65532
ENTRYPOINT ["/dittofs-operator"]
