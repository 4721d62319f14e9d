package localcluster

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

//go:embed stages.yaml
var kwokStages []byte

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// kwokStageYAML returns the kwok Stage documents; with fast set, the pod
// stages lose their delay so kwok applies them immediately.
func kwokStageYAML(fast bool) ([]byte, error) {
	if !fast {
		return kwokStages, nil
	}
	var out bytes.Buffer
	for _, doc := range docSeparator.Split(string(kwokStages), -1) {
		var stage map[string]any
		if err := yaml.Unmarshal([]byte(doc), &stage); err != nil {
			return nil, fmt.Errorf("kwok stages: %w", err)
		}
		if len(stage) == 0 {
			continue
		}
		spec, _ := stage["spec"].(map[string]any)
		ref, _ := spec["resourceRef"].(map[string]any)
		if ref["kind"] == "Pod" {
			delete(spec, "delay")
		}
		b, err := yaml.Marshal(stage)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
}
