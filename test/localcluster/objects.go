package localcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
)

const (
	// NodeName is the fake node kwok manages.
	NodeName = "kwok-node-0"
	// StorageClassName is the default StorageClass, backed by static PVs.
	StorageClassName = "standard"
	// PVSize is the capacity of every static PV.
	PVSize = "100Gi"
	// PVLabel marks the static PVs created by this package.
	PVLabel = "localcluster.dittofs.io/pool"

	// podCIDR is where kwok takes pod IPs from; a /16 leaves room for
	// benchmarks with thousands of pods.
	podCIDR = "10.244.0.0/16"
)

// createBaseObjects creates the fake node and the StorageClass.
//
// The StorageClass binds Immediate. Both modes bind reliably with kwok (the
// static PVs carry no node affinity and there is one node), but with
// WaitForFirstConsumer every pod waits for the scheduler's volume-binding
// round trip (assume, bind, wait for the PV controller): measured here, a
// one-replica StatefulSet with FastPods was Ready after ~2.2 s with
// WaitForFirstConsumer and ~0.3 s with Immediate, where the PV controller
// binds the claim as soon as it exists, before the pod is scheduled.
func (c *Cluster) createBaseObjects(ctx context.Context, cs kubernetes.Interface) error {
	mode := storagev1.VolumeBindingImmediate
	reclaim := corev1.PersistentVolumeReclaimRetain
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name: StorageClassName,
			Annotations: map[string]string{
				"storageclass.kubernetes.io/is-default-class": "true",
			},
		},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &mode,
		ReclaimPolicy:     &reclaim,
	}
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create StorageClass: %w", err)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: NodeName,
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":                                     "fake",
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
			Labels: map[string]string{
				"kubernetes.io/hostname": NodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Spec: corev1.NodeSpec{PodCIDR: podCIDR, PodCIDRs: []string{podCIDR}},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Node: %w", err)
	}
	return nil
}

// CreatePVs adds n static hostPath PersistentVolumes (PVSize, ReadWriteOnce,
// StorageClass "standard", reclaim policy Retain) named pv-0001, pv-0002, …
// continuing the numbering of earlier calls. Their host paths are under
// WorkDir/pvs; nothing is ever written there since pods do not run.
func (c *Cluster) CreatePVs(ctx context.Context, n int) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	c.pvMu.Lock()
	defer c.pvMu.Unlock()
	for range n {
		c.nextPV++
		name := fmt.Sprintf("pv-%04d", c.nextPV)
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{
				Name:   name,
				Labels: map[string]string{PVLabel: StorageClassName},
			},
			Spec: corev1.PersistentVolumeSpec{
				Capacity: corev1.ResourceList{
					corev1.ResourceStorage: resource.MustParse(PVSize),
				},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              StorageClassName,
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(c.WorkDir, "pvs", name)},
				},
			},
		}
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PV %s: %w", name, err)
		}
	}
	return nil
}

// waitReady waits for the node to be Ready (kwok is working) and for the
// "default" ServiceAccount (the controller manager is working; pods cannot
// be created in a namespace before it exists).
func (c *Cluster) waitReady(ctx context.Context, cs kubernetes.Interface) error {
	var last string
	for {
		if err := c.checkProcesses(); err != nil {
			return err
		}
		last = ""
		node, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		switch {
		case err != nil:
			last = "node: " + err.Error()
		case !nodeReady(node):
			last = "node " + NodeName + " not Ready yet"
		}
		if last == "" {
			if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
				last = "ServiceAccount default/default: " + err.Error()
			}
		}
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: %s (%w)", last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// recyclePVs makes the package's static PVs reusable: when a claim is
// deleted (for example with its namespace) its PV becomes Released and, with
// no provisioner to scrub it, would stay unusable; clearing spec.claimRef
// returns it to Available. Requests carry the user agent
// "localcluster-pv-recycler".
func (c *Cluster) recyclePVs(ctx context.Context) {
	cfg := c.RESTConfig()
	cfg.UserAgent = "localcluster-pv-recycler"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = PVLabel }))
	inf := factory.Core().V1().PersistentVolumes().Informer()
	release := func(obj any) {
		pv, ok := obj.(*corev1.PersistentVolume)
		if !ok || pv.Status.Phase != corev1.VolumeReleased {
			return
		}
		_ = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			if err != nil || cur.Status.Phase != corev1.VolumeReleased {
				return err
			}
			cur.Spec.ClaimRef = nil
			_, err = cs.CoreV1().PersistentVolumes().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    release,
		UpdateFunc: func(_, obj any) { release(obj) },
	})
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}
