package main

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// statusTracer logs every status the operator writes for one DittoServer,
// to see which observable changes cost a status write.
type statusTracer struct {
	name  string
	start func() time.Time
}

func (t *statusTracer) observe(oldObj, newObj any) {
	o, ok1 := oldObj.(*dittov1alpha1.DittoServer)
	n, ok2 := newObj.(*dittov1alpha1.DittoServer)
	if t == nil || !ok1 || !ok2 || n.Name != t.name || equality.Semantic.DeepEqual(o.Status, n.Status) {
		return
	}
	var conds []string
	for _, c := range n.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	logf("trace %s +%s rv %s: phase %s, replicas %d/%d/%d, observedGeneration %d/%d; %s", n.Name,
		time.Since(t.start()).Round(time.Millisecond), n.ResourceVersion, n.Status.Phase,
		n.Status.Replicas, n.Status.ReadyReplicas, n.Status.AvailableReplicas,
		n.Status.ObservedGeneration, n.Generation, strings.Join(conds, "; "))
}
