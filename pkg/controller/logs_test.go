package controller

// Logs name objects the Kubernetes way: every line of a pass carries the
// DittoServer as {name, namespace} (klog.KRef), and a line about a child
// names it the same way under its kind.

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

func TestLogsNameObjectsWithTheirNamespace(t *testing.T) {
	f := newFixture(t, false, newDittoServer())
	var mu sync.Mutex
	var lines []string
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{Verbosity: 10})
	f.c.queue.Add(cache.ObjectName{Namespace: testNamespace, Name: testName})
	if !kit.ProcessNext(klog.NewContext(f.ctx, logger), nil, f.c.queue, f.c.processItem) {
		t.Fatal("queue shut down")
	}

	mu.Lock()
	defer mu.Unlock()
	ds := `"dittoserver"={"name"="nas" "namespace"="storage"}`
	for _, l := range lines {
		if !strings.Contains(l, ds) {
			t.Errorf("log line without the DittoServer as %s: %s", ds, l)
		}
	}
	for _, want := range []string{
		`"secret"={"name"="nas-generated" "namespace"="storage"}`,
		`"configmap"={"name"="nas-config" "namespace"="storage"}`,
		`"service"={"name"="nas-file" "namespace"="storage"}`,
		`"statefulset"={"name"="nas" "namespace"="storage"}`,
	} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, `"msg"="Created"`) && strings.Contains(l, want) }) {
			t.Errorf("no Created line naming %s among %q", want, lines)
		}
	}
}
