package controller

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
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
	sts *appsv1.StatefulSet
	// fileService is the file Service as last seen (the endpoints in the
	// status are read from it); nil when there is none yet.
	fileService *corev1.Service
	// resize is what the StorageResized condition says; nil leaves it as it is.
	resize     *resizeState
	configHash string
	// pods are the StatefulSet's pods, podProblems what keeps them from
	// running (pods.go).
	pods        []*corev1.Pod
	podProblems []podProblem
	// paused: spec.paused holds every child as it is (pause.go).
	paused      bool
	perconaName string
	// restoredFrom is the backup this pass restored the server from.
	restoredFrom *dittov1alpha1.RestoredFrom
}

// dbState is the PostgreSQL gate.
type dbState struct {
	ready   bool
	reason  string
	message string
	failed  bool // the cluster cannot provide the database at all
}

// sync drives one DittoServer through its lifecycle:
// deletion → finalizer → pods → pause → inputs → children → database gate →
// StatefulSet → status.
// Each step returns its outcome (a kit.Kind, carried as an error), and
// conclude classifies it once.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	ds, err := c.loadDittoServer(ctx, key)
	if ds == nil || err != nil {
		return c.conclude(ctx, nil, nil, err)
	}
	if ds.DeletionTimestamp != nil {
		return c.conclude(ctx, ds, nil, c.finalize(ctx, ds))
	}
	if ds, err = c.ensureFinalizer(ctx, ds); err != nil {
		return c.conclude(ctx, ds, nil, err)
	}

	obs := &observation{sts: c.ownedStatefulSet(ds), fileService: c.ownedFileService(ds)}
	c.observePods(ds, obs)
	if ds.Spec.Paused {
		obs.paused = true
		return c.conclude(ctx, ds, obs, nil)
	}
	if err := c.bootstrapGate(ctx, ds, obs); err != nil {
		return c.conclude(ctx, ds, obs, err)
	}
	if resources.PerconaEnabled(ds) {
		// Named from the start: a step failing before the database does not
		// make the cluster vanish from the status.
		obs.perconaName = resources.PerconaClusterName(ds)
	}
	in, err := c.resolveInputs(ctx, ds, obs)
	if err != nil {
		return c.conclude(ctx, ds, obs, err)
	}
	configHash, err := c.applyConfigAndServices(ctx, ds, in, obs)
	if err != nil {
		return c.conclude(ctx, ds, obs, err)
	}
	if obs.db != nil && !obs.db.ready {
		// No server until its database is there.
		return c.conclude(ctx, ds, obs, kit.Waitf("database gate: %s", obs.db.message))
	}
	return c.conclude(ctx, ds, obs, c.applyStatefulSet(ctx, ds, in, configHash, obs))
}

// conclude turns a pass's outcome into what the operator writes, says and
// does next — the one place outcomes are classified:
//   - success and Waiting: the status is computed from obs and written when
//     it changed (deletion and finalizer steps pass no obs);
//   - NotOwned: a problem the status reports (ConfigReady=False), then Waiting;
//   - Failed: one ReconcileFailed Warning and an error, retried with backoff;
//     the status keeps describing the last completed pass. A Conflict is
//     Failed only after ConflictRetries passes in a row ended on one;
//     before, it is requeued quietly like Waiting;
//   - CacheBehind: nothing; the informer delivering the operator's own write
//     requeues the DittoServer.
//
// It returns nil, a Waiting outcome or a failure, for the work queue.
func (c *Controller) conclude(ctx context.Context, ds *dittov1alpha1.DittoServer, obs *observation, err error) error {
	kind := kit.KindOf(err)
	if ds != nil {
		if kind == kit.Failed && apierrors.IsConflict(err) {
			// Another writer changed an object this pass read. The next
			// pass reads the newer one: requeued without a word, and
			// without a status computed from a pass that stopped midway.
			if n := c.conflicts.add(cache.MetaObjectToName(ds)); n <= ConflictRetries {
				c.metrics.countConflict(err)
				klog.FromContext(ctx).V(2).Info("Conflict with another writer; requeued", "err", err, "inARow", n)
				return kit.AsWaiting(err)
			}
		} else {
			c.conflicts.reset(cache.MetaObjectToName(ds))
		}
	}
	if kind == kit.Failed && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		// The namespace is being deleted and the DittoServer with it: the
		// API server refuses new children, and the deletion pass that
		// follows needs none of them. Nothing here needs a person.
		klog.FromContext(ctx).V(2).Info("Namespace is terminating; children not created", "err", err)
		return kit.AsWaiting(err)
	}
	if kind == kit.NotOwned && obs != nil {
		obs.problem = &problem{ReasonResourceNotOwned, err.Error()}
		err, kind = kit.AsWaiting(err), kit.Waiting
	}
	if obs != nil && (kind == kit.Succeeded || kind == kit.Waiting) {
		if statusErr := c.updateStatus(ctx, ds, *obs); statusErr != nil {
			err, kind = kit.In("update status", statusErr), kit.KindOf(statusErr)
		}
	}
	switch kind {
	case kit.CacheBehind:
		klog.FromContext(ctx).V(4).Info("A cache has not seen this operator's last write yet; skipped")
		return nil
	case kit.Failed:
		if ds != nil {
			c.recorder.Eventf(ds, corev1.EventTypeWarning, ReasonReconcileFailed, "Failed to reconcile %v", err)
		}
		c.metrics.countConflict(err)
	}
	return err
}

// ensureFinalizer adds the finalizer to a DittoServer seen for the first
// time, and says so once.
func (c *Controller) ensureFinalizer(ctx context.Context, ds *dittov1alpha1.DittoServer) (*dittov1alpha1.DittoServer, error) {
	if hasFinalizer(ds) {
		return ds, nil
	}
	updated, err := c.addFinalizer(ctx, ds)
	if err != nil {
		return ds, kit.In("add finalizer", err)
	}
	c.recorder.Event(updated, corev1.EventTypeNormal, ReasonCreated, "DittoServer created, finalizer added")
	return updated, nil
}

// resolveInputs settles what the children are built from: the spec's own
// checks, the user's Secrets, the generated Secrets and the database. A spec
// that cannot be realised is recorded in obs and ends the pass (Waiting); the
// database's state is recorded in obs for the gate.
func (c *Controller) resolveInputs(ctx context.Context, ds *dittov1alpha1.DittoServer, obs *observation) (resources.Inputs, error) {
	p, err := c.checkSpec(ds)
	if err != nil {
		return resources.Inputs{}, kit.In("resolve inputs", err)
	}
	if p != nil {
		obs.problem = p
		return resources.Inputs{}, kit.Waitf("inputs: %s", p.message)
	}
	versions, p, err := c.resolveUserSecrets(ctx, ds)
	if err != nil {
		return resources.Inputs{}, kit.In("resolve inputs", err)
	}
	if p != nil {
		obs.problem = p
		return resources.Inputs{}, kit.Waitf("inputs: %s", p.message)
	}
	generated, err := c.ensureGeneratedSecrets(ctx, ds)
	if err != nil {
		return resources.Inputs{}, kit.In("generated Secrets", err)
	}
	issued, err := c.ensureIssuedTLS(ctx, ds)
	if err != nil {
		return resources.Inputs{}, kit.In("issued TLS Secrets", err)
	}
	for _, m := range []map[string]string{generated, issued} {
		for name, v := range m {
			versions[name] = v
		}
	}
	in := resources.Inputs{JWTSecret: resources.JWTSecretSelector(ds), AdminPassword: resources.AdminPasswordSelector(ds),
		SecretVersions: versions}

	// The database: an external Secret, or a Percona cluster and its user Secret.
	if resources.UsesPostgres(ds) {
		db, secretName, err := c.resolveDatabase(ctx, ds, in.SecretVersions)
		if err != nil {
			return in, kit.In("PostgreSQL cluster", err)
		}
		obs.db, in.PostgresSecretName = db, secretName
	}
	if !resources.PerconaEnabled(ds) {
		if err := c.releasePercona(ctx, ds); err != nil {
			return in, kit.In("release PostgreSQL cluster", err)
		}
	}
	return in, nil
}

// applyConfigAndServices writes the ConfigMap and the Services, records the
// file Service in obs, and returns the config hash that the StatefulSet's
// pod template carries.
func (c *Controller) applyConfigAndServices(ctx context.Context, ds *dittov1alpha1.DittoServer, in resources.Inputs, obs *observation) (string, error) {
	configYAML, err := resources.ConfigYAML(ds, in)
	if err != nil {
		return "", kit.In("render config.yaml", err)
	}
	if _, _, err := ensure(ctx, c.configMapWriter(), ds, resources.ConfigMap(ds, configYAML)); err != nil {
		return "", kit.In("ConfigMap", err)
	}
	fileService, err := c.ensureServices(ctx, ds)
	if err != nil {
		return "", kit.In("Services", err)
	}
	obs.fileService = fileService
	if err := c.ensureMonitoring(ctx, ds); err != nil {
		return "", kit.In("NetworkPolicy and ServiceMonitor", err)
	}
	return resources.ConfigHash(configYAML, in.SecretVersions), nil
}

// ensureServices applies the headless, file and API Services, and the
// metrics Service while metrics are enabled (deleting it otherwise). It
// returns the file Service as the cluster now has it.
func (c *Controller) ensureServices(ctx context.Context, ds *dittov1alpha1.DittoServer) (*corev1.Service, error) {
	w := c.serviceWriter()
	var file *corev1.Service
	for _, svc := range []*corev1.Service{resources.HeadlessService(ds), resources.FileService(ds), resources.APIService(ds)} {
		got, _, err := ensure(ctx, w, ds, svc)
		if err != nil {
			return nil, err
		}
		if svc.Name == resources.FileServiceName(ds) {
			file = got
		}
	}
	if resources.MetricsEnabled(ds) {
		_, _, err := ensure(ctx, w, ds, resources.MetricsService(ds))
		return file, err
	}
	_, err := deleteOwned(ctx, w, ds, ds.Namespace, resources.MetricsServiceName(ds), c.kube.CoreV1().Services(ds.Namespace).Delete)
	return file, err
}

// applyStatefulSet writes the StatefulSet and records it in obs. The pod
// template changes only for a change the user made (settleStatefulSet); a
// change of the config hash on an existing StatefulSet restarts the pods,
// which one ConfigUpdated event announces.
func (c *Controller) applyStatefulSet(ctx context.Context, ds *dittov1alpha1.DittoServer, in resources.Inputs, configHash string, obs *observation) error {
	desired, err := c.renderStatefulSet(ds, in, configHash)
	if err != nil {
		obs.problem = &problem{ReasonInvalidSpec, err.Error()}
		return kit.Waitf("inputs: %s", err)
	}
	settleStatefulSet(desired, obs.sts, ds)
	oldHash := ""
	if obs.sts != nil {
		if obs.sts.DeletionTimestamp != nil {
			return waitForStatefulSetDeletion(obs.sts)
		}
		oldHash = obs.sts.Spec.Template.Annotations[resources.ConfigHashAnnotation]
	}
	recreate, err := c.resizeVolumes(ctx, ds, desired, obs)
	if err != nil {
		return kit.In("resize volumes", err)
	}
	if recreate {
		return c.recreateStatefulSet(ctx, ds, obs.sts, "its volume claim templates must ask for the grown sizes")
	}
	sts, written, err := ensure(ctx, c.statefulSetWriter(), ds, desired)
	if err != nil {
		return kit.In("StatefulSet", err)
	}
	existed := obs.sts != nil
	// The pods run the configuration their template names, which a kept
	// template may not have caught up with yet.
	configHash = sts.Spec.Template.Annotations[resources.ConfigHashAnnotation]
	obs.configHash, obs.sts = configHash, sts
	if written && existed && oldHash != configHash {
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonConfigUpdated,
			"Configuration updated, pods will restart (hash: %s)", shortHash(configHash))
	}
	return nil
}

// ownedStatefulSet is the cached StatefulSet this DittoServer controls or
// will adopt (adopt.go), nil when there is none: an adopted server keeps its
// storage layout.
func (c *Controller) ownedStatefulSet(ds *dittov1alpha1.DittoServer) *appsv1.StatefulSet {
	sts, err := c.stsLister.StatefulSets(ds.Namespace).Get(resources.StatefulSetName(ds))
	if err != nil || !controlledOrAdoptable(sts, ds) {
		return nil
	}
	return sts
}

func shortHash(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}
