// Package dittofs holds the API group name shared by every version.
package dittofs

// GroupName is the API group of the DittoFS operator's resources.
const GroupName = "dittofs.dittofs.com"
