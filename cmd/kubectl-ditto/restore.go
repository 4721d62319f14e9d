package main

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// restore creates a DittoServer that starts from a DittoBackup, with
// volumes at least as large as the backup's.
func restore(ctx context.Context, e *env, args []string) error {
	to := e.flags.to
	if to == "" {
		return fmt.Errorf("--to NAME is required: the DittoServer to create")
	}
	if msgs := validation.IsDNS1123Label(to); len(msgs) > 0 {
		return fmt.Errorf("--to %q: %s", to, strings.Join(msgs, "; "))
	}
	bns, bname := e.namespace, args[0]
	if ns, name, ok := strings.Cut(args[0], "/"); ok {
		bns, bname = ns, name
	}
	b, err := e.ditto.DittofsV1alpha1().DittoBackups(bns).Get(ctx, bname, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("DittoBackup %s/%s: %w", bns, bname, err)
	}
	ds, err := restoredServer(b, e.namespace, to)
	if err != nil {
		return err
	}
	// The backup does not hold spec.s3: take it from the backed-up server, if it is still there.
	src, err := e.ditto.DittofsV1alpha1().DittoServers(b.Namespace).Get(ctx, b.Spec.Server.Name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("the backed-up DittoServer %s/%s: %w", b.Namespace, b.Spec.Server.Name, err)
	}
	if err == nil && src.Spec.S3 != nil {
		ds.Spec.S3 = src.Spec.S3.DeepCopy()
	}
	created, err := e.ditto.DittofsV1alpha1().DittoServers(e.namespace).Create(ctx, ds, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("DittoServer %s/%s exists already: a restore creates a new server; choose another --to", e.namespace, to)
	}
	if err != nil {
		return fmt.Errorf("create DittoServer %s/%s: %w", e.namespace, to, err)
	}
	p := &printer{w: e.out}
	writeRestored(p, b, created)
	return p.err
}

// restoredServer is the DittoServer restore creates: spec.bootstrap.fromBackup
// naming the backup, the image, StorageClass and sizes of the backup's layout.
func restoredServer(b *dittov1alpha1.DittoBackup, ns, name string) (*dittov1alpha1.DittoServer, error) {
	if b.Status.Phase == dittov1alpha1.BackupFailed {
		return nil, fmt.Errorf("DittoBackup %s/%s failed: it cannot be restored", b.Namespace, b.Name)
	}
	if b.Status.Layout == nil {
		return nil, fmt.Errorf("DittoBackup %s/%s has no status.layout yet (phase %s): wait until it is Completed", b.Namespace, b.Name, orDash(string(b.Status.Phase)))
	}
	ds := &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: dittov1alpha1.DittoServerSpec{
			Image:     b.Status.Image,
			Storage:   dittov1alpha1.StorageSpec{StorageClassName: b.Status.Layout.StorageClassName},
			Bootstrap: &dittov1alpha1.BootstrapSpec{FromBackup: &dittov1alpha1.BackupReference{Name: b.Name}},
		},
	}
	if b.Namespace != ns {
		ds.Spec.Bootstrap.FromBackup.Namespace = b.Namespace
	}
	sizes := claimSizes(b)
	meta, ok := sizes["metadata"]
	if !ok {
		return nil, fmt.Errorf("DittoBackup %s/%s: status.layout has no metadata claim to size the restored server from", b.Namespace, b.Name)
	}
	ds.Spec.Storage.MetadataSize = meta
	if content, ok := sizes["content"]; ok {
		ds.Spec.Storage.ContentSize = &content
	}
	return ds, nil
}

// claimSizes are the sizes a restored server's claims need, by role: the
// larger of the size the backed-up claim requested and its snapshot's
// restore size (a claim smaller than its snapshot cannot be restored).
func claimSizes(b *dittov1alpha1.DittoBackup) map[string]resource.Quantity {
	out := map[string]resource.Quantity{}
	for _, c := range b.Status.Layout.Claims {
		out[c.Name] = c.Size.DeepCopy()
	}
	for _, sn := range b.Status.Snapshots {
		if cur, ok := out[sn.Claim]; ok && sn.Size != nil && sn.Size.Cmp(cur) > 0 {
			out[sn.Claim] = sn.Size.DeepCopy()
		}
	}
	return out
}

// writeRestored says what restore created and how to follow it.
func writeRestored(p *printer, b *dittov1alpha1.DittoBackup, ds *dittov1alpha1.DittoServer) {
	p.printf("dittoserver.dittofs.dittofs.com/%s created in namespace %s from DittoBackup %s/%s\n", ds.Name, ds.Namespace, b.Namespace, b.Name)
	p.printf("  metadataSize %s", ds.Spec.Storage.MetadataSize.String())
	if ds.Spec.Storage.ContentSize != nil {
		p.printf(", contentSize %s", ds.Spec.Storage.ContentSize.String())
	}
	p.printf(", storageClassName %s, image %s\n", orDash(ptrString(ds.Spec.Storage.StorageClassName)), orDash(ds.Spec.Image))
	if b.Status.Phase != dittov1alpha1.BackupCompleted {
		p.printf("The backup is %s: the server waits (ConfigReady False, reason BackupNotReady) until it is Completed.\n", orDash(string(b.Status.Phase)))
	}
	if b.Namespace != ds.Namespace {
		p.printf("The backup's spec.restoreNamespaces must admit namespace %s, else the server waits (reason BackupNotAdmitted).\n", ds.Namespace)
	}
	if ds.Spec.S3 != nil {
		p.printf("spec.s3 is copied from DittoServer %s/%s: the restore reads the blocks in bucket %s as they are now.\n", b.Namespace, b.Spec.Server.Name, orDash(ds.Spec.S3.Bucket))
	}
	p.println("It starts with the backup's admin password, operator account, users and shares. Watch it:")
	p.printf("  kubectl get dittoserver -n %s %s -w\n", ds.Namespace, ds.Name)
	p.printf("  kubectl ditto status -n %s %s\n", ds.Namespace, ds.Name)
	p.printf("Log in as before: kubectl ditto credentials -n %s %s\n", ds.Namespace, ds.Name)
}
