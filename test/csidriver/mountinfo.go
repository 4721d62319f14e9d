package csidriver

import "strings"

// mountinfoHas says whether a /proc/self/mountinfo text lists path as a
// mount point (the fifth field; spaces are escaped as \040).
func mountinfoHas(mountinfo, path string) bool {
	escaped := strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`).Replace(path)
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == escaped {
			return true
		}
	}
	return false
}
