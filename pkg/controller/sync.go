package controller

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

var everything = labels.Everything()

// observation is what one pass learned, from which the status is computed.
type observation struct {
	// problem, when set, is why the spec cannot be realised (ConfigReady=False).
	problem *problem
	// db is the database gate; nil when the server uses SQLite.
	db *dbState
	// sts is the StatefulSet as last seen; nil when there is none yet.
	sts         *appsv1.StatefulSet
	configHash  string
	perconaName string
}

// dbState is the PostgreSQL gate.
type dbState struct {
	ready   bool
	reason  string
	message string
	failed  bool // the cluster cannot provide the database at all
}

// sync drives one DittoServer through its lifecycle:
// deletion → finalizer → inputs → children → database gate → StatefulSet → status.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	cached, err := c.dsLister.DittoServers(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		klog.FromContext(ctx).V(4).Info("DittoServer is gone")
		c.ownWrites.forget(key)
		c.pacer.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if c.ownWrites.stale(key, selfKey(key), cached.ResourceVersion) {
		// The informer delivering our write requeues the DittoServer.
		klog.FromContext(ctx).V(4).Info("Cache has not seen this operator's last write yet; skipped", "resourceVersion", cached.ResourceVersion)
		return nil
	}
	ds := cached.DeepCopy()

	if ds.DeletionTimestamp != nil {
		return c.finalize(ctx, ds)
	}
	if !hasFinalizer(ds) {
		if ds, err = c.addFinalizer(ctx, ds); err != nil {
			return c.failed(cached, "add finalizer", err)
		}
		c.ownWrites.replaced(key, selfKey(key), cached.ResourceVersion)
		c.recorder.Event(ds, corev1.EventTypeNormal, ReasonCreated, "DittoServer created, finalizer added")
	}

	obs, err := c.reconcileChildren(ctx, ds)
	if errors.Is(err, errCacheBehind) {
		// The informer delivering the operator's own write requeues the DittoServer.
		klog.FromContext(ctx).V(4).Info("A child cache has not seen this operator's last write yet; skipped")
		return nil
	}
	var notOwned *notOwnedError
	if errors.As(err, &notOwned) {
		obs.problem = &problem{ReasonResourceNotOwned, notOwned.Error()}
		err = errWaiting
	}
	if err != nil && !errors.Is(err, errWaiting) {
		// A failed step was reported as ReconcileFailed and will be retried;
		// the status keeps describing the last completed pass.
		return err
	}
	if statusErr := c.updateStatus(ctx, ds, obs); statusErr != nil {
		return c.failed(ds, "update status", statusErr)
	}
	return err
}

// reconcileChildren applies every child in order and reports what it saw.
// errWaiting means the pass stopped at a gate; other errors are failures
// already reported as ReconcileFailed.
func (c *Controller) reconcileChildren(ctx context.Context, ds *dittov1alpha1.DittoServer) (observation, error) {
	var obs observation
	if sts, err := c.stsLister.StatefulSets(ds.Namespace).Get(resources.StatefulSetName(ds)); err == nil && controlledBy(sts, ds) {
		obs.sts = sts
	}

	// Inputs: referenced Secrets and keys, StorageClasses, the grace period.
	versions, p, err := c.checkSpec(ctx, ds)
	if err != nil {
		return obs, c.failed(ds, "resolve inputs", err)
	}
	if p != nil {
		obs.problem = p
		return obs, errWaiting
	}
	generated, err := c.ensureGeneratedSecrets(ctx, ds)
	if err != nil {
		return obs, c.failedUnlessNotOwned(ds, "generated Secrets", err)
	}
	for name, v := range generated {
		versions[name] = v
	}
	in := resources.Inputs{JWTSecret: resources.JWTSecretSelector(ds), AdminPassword: resources.AdminPasswordSelector(ds), SecretVersions: versions}
	in.Layout = resources.StorageLayoutOf(obs.sts) // claim templates are immutable: keep the server's layout

	// The database: an external Secret, or a Percona cluster and its user Secret.
	if resources.UsesPostgres(ds) {
		db, secretName, err := c.resolveDatabase(ctx, ds, in.SecretVersions)
		if err != nil {
			return obs, c.failedUnlessNotOwned(ds, "PostgreSQL cluster", err)
		}
		obs.db, in.PostgresSecretName = db, secretName
		if resources.PerconaEnabled(ds) {
			obs.perconaName = resources.PerconaClusterName(ds)
		}
	}

	configYAML, err := resources.ConfigYAML(ds, in)
	if err != nil {
		return obs, c.failed(ds, "render config.yaml", err)
	}
	hash := resources.ConfigHash(configYAML, in.SecretVersions)

	if _, _, err := ensure(ctx, c.configMapWriter(), ds, resources.ConfigMap(ds, configYAML)); err != nil {
		return obs, c.failedUnlessNotOwned(ds, "ConfigMap", err)
	}
	if err := c.ensureServices(ctx, ds); err != nil {
		return obs, c.failedUnlessNotOwned(ds, "Services", err)
	}

	// Database gate: no server until its database is there.
	if obs.db != nil && !obs.db.ready {
		return obs, errWaiting
	}

	desired, err := resources.StatefulSet(ds, in, hash)
	if err != nil {
		obs.problem = &problem{ReasonInvalidSpec, err.Error()}
		return obs, errWaiting
	}
	oldHash := ""
	if obs.sts != nil {
		oldHash = obs.sts.Spec.Template.Annotations[resources.ConfigHashAnnotation]
	}
	sts, written, err := ensure(ctx, c.statefulSetWriter(), ds, desired)
	if err != nil {
		return obs, c.failedUnlessNotOwned(ds, "StatefulSet", err)
	}
	existed := obs.sts != nil
	obs.configHash, obs.sts = hash, sts
	if written && existed && oldHash != hash {
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonConfigUpdated,
			"Configuration updated, pods will restart (hash: %s)", shortHash(hash))
	}
	return obs, nil
}

// ensureServices applies the headless, file and API Services, and the
// metrics Service while metrics are enabled (deleting it otherwise).
func (c *Controller) ensureServices(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	w := c.serviceWriter()
	for _, svc := range []*corev1.Service{resources.HeadlessService(ds), resources.FileService(ds), resources.APIService(ds)} {
		if _, _, err := ensure(ctx, w, ds, svc); err != nil {
			return err
		}
	}
	if resources.MetricsEnabled(ds) {
		_, _, err := ensure(ctx, w, ds, resources.MetricsService(ds))
		return err
	}
	_, err := deleteOwned(ctx, w, ds, ds.Namespace, resources.MetricsServiceName(ds), c.kube.CoreV1().Services(ds.Namespace).Delete)
	return err
}

// failed reports a failed step as one ReconcileFailed Warning and wraps the error.
func (c *Controller) failed(ds *dittov1alpha1.DittoServer, step string, err error) error {
	c.recorder.Eventf(ds, corev1.EventTypeWarning, ReasonReconcileFailed, "Failed to reconcile %s: %v", step, err)
	c.metrics.countConflict(err)
	return fmt.Errorf("%s: %w", step, err)
}

// failedUnlessNotOwned passes a notOwnedError through: it is a spec problem
// reported by a condition, not a failure to retry loudly.
func (c *Controller) failedUnlessNotOwned(ds *dittov1alpha1.DittoServer, step string, err error) error {
	var notOwned *notOwnedError
	if errors.As(err, &notOwned) || errors.Is(err, errCacheBehind) {
		return err
	}
	return c.failed(ds, step, err)
}

func shortHash(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}
