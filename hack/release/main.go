// Command release builds the operator for linux/amd64 and linux/arm64 and
// assembles the multi-platform OCI image from those builds (hack/release/image),
// without a container engine: `make release` runs it, then renders the
// installs with the image pinned by the digest it prints (hack/release.sh).
//
//	go run ./hack/release --out _output/release --version v0.1.0 \
//	  --revision $(git rev-parse HEAD) --source-date-epoch $(git log -1 --format=%ct)
//
// It writes, under --out:
//
//	dittofs-operator-image/          the OCI image layout
//	dittofs-operator-image.oci.tar   the same layout as one archive
//
// and prints the image index's digest (sha256:…) on stdout.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dittofs/dittofs-operator/hack/release/image"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "_output/release", "output directory")
	version := flag.String("version", "", "the operator's version (required)")
	revision := flag.String("revision", "", "the source revision (commit) the image is built from")
	epoch := flag.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time stamped on the image (default $SOURCE_DATE_EPOCH)")
	repository := flag.String("repository", "ghcr.io/dittofs/dittofs-operator", "where the image is pushed, named in the layout for ctr import")
	source := flag.String("source", "https://github.com/dittofs/dittofs-operator", "the org.opencontainers.image.source label")
	flag.Parse()
	if *version == "" || *epoch == "" {
		return fmt.Errorf("--version and --source-date-epoch (or SOURCE_DATE_EPOCH) are required")
	}
	secs, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("--source-date-epoch %q: %w", *epoch, err)
	}
	created := time.Unix(secs, 0).UTC()

	work, err := os.MkdirTemp("", "dittofs-release-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	var platforms []image.Platform
	for _, arch := range []struct{ arch, variant string }{{"amd64", ""}, {"arm64", "v8"}} {
		bin := filepath.Join(work, "linux-"+arch.arch, "dittofs-operator")
		if err := build(bin, arch.arch, *version); err != nil {
			return err
		}
		platforms = append(platforms, image.Platform{OS: "linux", Architecture: arch.arch, Variant: arch.variant, Binary: bin})
	}

	idx, err := image.Index(image.Options{
		Platforms: platforms,
		Created:   created,
		Labels:    image.Labels(*version, *revision, *source, "Apache-2.0"),
	})
	if err != nil {
		return err
	}
	dir := filepath.Join(*out, "dittofs-operator-image")
	if err := image.WriteLayout(dir, idx, *repository+":"+*version, *version); err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	archive := dir + ".oci.tar"
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	if err := image.WriteArchive(f, dir, created); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", archive, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Println(digest.String())
	return nil
}

// build compiles the operator as `make build` does, for linux/arch.
func build(out, arch, version string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-X github.com/dittofs/dittofs-operator/pkg/version.Version="+version,
		"-o", out, "./cmd/dittofs-operator")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for linux/%s: %w", arch, err)
	}
	return nil
}
