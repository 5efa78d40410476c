// Package version holds the build version, set with
// -ldflags "-X github.com/batonhq/baton/internal/version.Version=...".
package version

// Version is Baton's version.
var Version = "0.1.0-dev"
