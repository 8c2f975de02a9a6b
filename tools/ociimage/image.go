package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's non-root user (distroless' "nonroot").
const (
	uid     = 65532
	user    = "mamori"
	dataDir = "/var/lib/mamori"
)

type options struct {
	bin, arch, version, config, caFile, out, repo string
	created                                       time.Time
}

// entry is one file of the layer.
type entry struct {
	path     string
	mode     int64
	uid      int
	dir      bool
	contents []byte
}

func build(o options) (string, error) {
	files, err := layerFiles(o)
	if err != nil {
		return "", err
	}
	tarBytes, err := tarOf(files, o.created)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return "", err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.created}, CreatedBy: "mamori ociimage " + o.version},
	})
	if err != nil {
		return "", err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.ConfigFile(img, configFile(img, o)); err != nil {
		return "", err
	}
	return write(img, o)
}

func configFile(img v1.Image, o options) *v1.ConfigFile {
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = o.arch, "linux"
	cf.Created = v1.Time{Time: o.created}
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint:   []string{"/usr/bin/mamori"},
		Cmd:          []string{"server", "--config", "/etc/mamori/mamori.yaml"},
		Env:          []string{"PATH=/usr/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		WorkingDir:   dataDir,
		ExposedPorts: map[string]struct{}{"8484/tcp": {}},
		Volumes:      map[string]struct{}{dataDir: {}},
		StopSignal:   "SIGTERM",
		Healthcheck: &v1.HealthConfig{
			Test:        []string{"CMD", "/usr/bin/mamori", "healthcheck"},
			Interval:    30 * time.Second,
			Timeout:     5 * time.Second,
			StartPeriod: 30 * time.Second,
			Retries:     3,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "mamori",
			"org.opencontainers.image.version": o.version,
			"org.opencontainers.image.created": o.created.Format(time.RFC3339),
		},
	}
	return cf
}

// write stores img as an OCI layout in OUT/oci and a docker tarball in
// OUT/mamori-image.tar, and returns the manifest digest.
func write(img v1.Image, o options) (string, error) {
	dir := filepath.Join(o.out, "oci")
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": o.version}
	if err := p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
		return "", err
	}
	tag, err := name.NewTag(o.repo + ":" + sanitizeTag(o.version))
	if err != nil {
		return "", err
	}
	if err := tarball.WriteToFile(filepath.Join(o.out, "mamori-image.tar"), tag, img); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}

func sanitizeTag(v string) string {
	b := []byte(v)
	for i, c := range b {
		ok := c == '_' || c == '.' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// tarOf writes the entries as a tar stream with fixed owners and times.
func tarOf(files []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: mtime, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, f.path+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.contents))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.contents); err != nil {
			return nil, err
		}
	}
	err := tw.Close()
	return buf.Bytes(), err
}

// layerFiles is the image's file system, parents before children.
func layerFiles(o options) ([]entry, error) {
	bin, err := os.ReadFile(o.bin)
	if err != nil {
		return nil, err
	}
	cfg, err := os.ReadFile(o.config)
	if err != nil {
		return nil, err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:mamori:%s:/sbin/nologin\n", user, uid, uid, dataDir)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", user, uid)
	fs := []entry{
		{path: "etc", mode: 0o755, dir: true},
		{path: "etc/passwd", mode: 0o644, contents: []byte(passwd)},
		{path: "etc/group", mode: 0o644, contents: []byte(group)},
		{path: "etc/mamori", mode: 0o755, dir: true},
		{path: "etc/mamori/mamori.yaml", mode: 0o644, contents: cfg},
		{path: "etc/ssl", mode: 0o755, dir: true},
		{path: "etc/ssl/certs", mode: 0o755, dir: true},
		{path: "tmp", mode: 0o1777, dir: true},
		{path: "usr", mode: 0o755, dir: true},
		{path: "usr/bin", mode: 0o755, dir: true},
		{path: "usr/bin/mamori", mode: 0o755, contents: bin},
		{path: "var", mode: 0o755, dir: true},
		{path: "var/lib", mode: 0o755, dir: true},
		{path: "var/lib/mamori", mode: 0o750, uid: uid, dir: true},
	}
	if o.caFile != "" {
		ca, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("CA certificates: %w (give -ca-certs \"\" to build without)", err)
		}
		fs = append(fs, entry{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, contents: ca})
	}
	return fs, nil
}
