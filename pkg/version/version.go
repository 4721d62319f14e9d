// Package version carries the operator's version, stamped at build time with
// -ldflags "-X github.com/dittofs/dittofs-operator/pkg/version.Version=vX.Y.Z".
package version

// Version is the operator's version.
var Version = "v0.0.0-dev"

// UserAgent is the user agent of every request the operator makes.
func UserAgent() string { return "dittofs-operator/" + Version }
