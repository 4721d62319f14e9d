// Package image assembles the operator's container image from Go builds,
// without a container engine or a registry: one layer holding the static
// binary and the nonroot account, an OCI image per platform, and an OCI image
// index over them, written as an OCI image layout and as a tar archive of that
// layout (what `crane push`, `skopeo copy oci-archive:` and `ctr import` take).
//
// Everything is fixed by its inputs: file times, the config's creation time
// and the layout archive's entries come from Options.Created, so the same
// binaries give the same digest. `make release` uses it (hack/release); the
// real-node suite imports the same layout into containerd.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// Entrypoint is where the binary lives in the image, and what runs.
	Entrypoint = "/dittofs-operator"
	// User is distroless's nonroot account, as the Dockerfile's USER.
	User = "65532:65532"
)

// Platform is one OS/architecture of the image and the binary built for it.
type Platform struct {
	OS, Architecture, Variant string
	// Binary is the path of the static operator binary for this platform.
	Binary string
}

// Options describe the image.
type Options struct {
	Platforms []Platform
	// Created stamps the config, the layer's files and the archive's entries
	// (SOURCE_DATE_EPOCH): fixed, so that two builds give one digest.
	Created time.Time
	// Labels are the OCI labels of every image config (Labels below).
	Labels map[string]string
}

// Labels returns the OCI labels the Dockerfile sets too.
func Labels(version, revision, source, licenses string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    "dittofs-operator",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": revision,
		"org.opencontainers.image.source":   source,
		"org.opencontainers.image.licenses": licenses,
	}
}

// The nonroot account of distroless/static: the operator needs no account
// files, but tools that map the uid to a name (ps, id, os/user) find it, as in
// the Dockerfile's image. No CA certificates: the operator trusts the API
// server through the ServiceAccount's CA file and each DittoFS server through
// the CA the DittoServer names, never the system pool.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// Index builds the multi-platform image index.
func Index(o Options) (v1.ImageIndex, error) {
	if len(o.Platforms) == 0 {
		return nil, fmt.Errorf("no platform")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		img, err := Image(p, o)
		if err != nil {
			return nil, fmt.Errorf("image for %s/%s: %w", p.OS, p.Architecture, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
			},
		})
	}
	return idx, nil
}

// Image builds the image of one platform: a single layer on nothing.
func Image(p Platform, o Options) (v1.Image, error) {
	bin, err := os.ReadFile(p.Binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "dittofs-operator release: COPY dittofs-operator /dittofs-operator"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = o.Labels
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer's tar: /etc/passwd, /etc/group and the binary, owned by
// root (the nonroot user may run but not replace it), stamped with created.
func rootfs(bin []byte, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []struct {
		name string
		mode int64
		data []byte
		dir  bool
	}{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: Entrypoint[1:], mode: 0o755, data: bin},
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: created, Typeflag: tar.TypeReg, Size: int64(len(e.data)), Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes idx as an OCI image layout in dir (created empty). name
// is the image's full reference without digest
// (ghcr.io/dittofs/dittofs-operator:v0.1.0): index.json carries it for
// containerd (io.containerd.image.name) and its tag for OCI tools
// (org.opencontainers.image.ref.name).
func WriteLayout(dir string, idx v1.ImageIndex, name, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          name,
		"org.opencontainers.image.ref.name": tag,
	}))
}

// WriteArchive writes the layout in dir as a tar archive (the layout at the
// archive's root, entries sorted, owned by root, stamped with created).
func WriteArchive(w io.Writer, dir string, created time.Time) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	tw := tar.NewWriter(w)
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: created, Format: tar.FormatPAX}
		if st.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, st.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, fh)
		_ = fh.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}
