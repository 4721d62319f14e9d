// Package localcluster runs a real Kubernetes control plane on loopback for
// tests, benchmarks and local runs of the operator: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler built from source, plus kwok,
// which simulates a node and the lifecycle of the pods scheduled on it (no
// kubelet, no containers, probes are not executed).
//
// The binaries are built once per machine by hack/build-control-plane.sh into
// CacheDir()/bin/<name>-<version>/<name>; Start runs the script itself when
// one is missing (about ten minutes on two cores), so tests never skip.
//
// Typical use:
//
//	c, err := localcluster.Start(ctx, localcluster.Options{FastPods: true})
//	if err != nil {
//		t.Fatal(err)
//	}
//	defer c.Stop()
//	cfg := c.RESTConfig()          // admin, CA pinned
//	cfg.UserAgent = "dittofs-operator"
//	// ... run the operator against c.Kubeconfig or cfg ...
//	events, _ := c.Audit()         // completed requests, from the audit log
//	mine := localcluster.FilterAudit(events, localcluster.ByUserAgentPrefix("dittofs-operator"))
//
// What a cluster contains: a Ready node "kwok-node-0" (annotation
// kwok.x-k8s.io/node=fake, no taints, 1k CPU, 1Ti memory, 1M pods), the
// default StorageClass "standard" (kubernetes.io/no-provisioner, Immediate
// binding) with Options.NumPVs static 100Gi hostPath PVs, RBAC authorization,
// the default admission plugins, the garbage collector and every default
// controller. Services get ClusterIPs from Options.ServiceCIDR but nothing
// routes to them.
//
// Every component runs in its own process group (a terminal Ctrl-C reaches
// only the parent, which should call Stop) and is killed by the kernel if
// the parent dies. Stop is idempotent and may be called from a signal
// handler.
package localcluster
