# The operator image: a static binary on a distroless, non-root base, for those
# with a container engine (`make image`). `make release` assembles the same
# image without one.
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
ARG VERSION=v0.0.0-dev
ARG REVISION=unknown
# The labels, user and entrypoint of the image `make release` assembles
# (hack/release/image): keep them the same.
LABEL org.opencontainers.image.title="dittofs-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/dittofs/dittofs-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/dittofs-operator /dittofs-operator
USER 65532:65532
ENTRYPOINT ["/dittofs-operator"]
