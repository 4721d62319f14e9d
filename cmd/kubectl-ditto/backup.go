package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// pollInterval is how often backup --wait reads the DittoBackup; tests shorten it.
var pollInterval = 2 * time.Second

// backup creates a DittoBackup of a server, and with --wait follows it to
// Completed or Failed.
func backup(ctx context.Context, e *env, args []string) error {
	ds, err := e.ditto.DittofsV1alpha1().DittoServers(e.namespace).Get(ctx, args[0], metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("DittoServer %s/%s: %w", e.namespace, args[0], err)
	}
	b := desiredBackup(ds, e.flags, e.now)
	if msgs := validation.IsDNS1123Subdomain(b.Name); len(msgs) > 0 {
		return fmt.Errorf("--name %q: %s", b.Name, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsDNS1123Subdomain(b.Spec.VolumeSnapshotClassName); e.flags.class != "" && len(msgs) > 0 {
		return fmt.Errorf("--class %q: %s", e.flags.class, strings.Join(msgs, "; "))
	}
	created, err := e.ditto.DittofsV1alpha1().DittoBackups(ds.Namespace).Create(ctx, b, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("DittoBackup %s/%s exists already: a backup is taken once; choose another --name", ds.Namespace, b.Name)
	}
	if err != nil {
		return fmt.Errorf("create DittoBackup %s/%s: %w", ds.Namespace, b.Name, err)
	}
	p := &printer{w: e.out}
	p.printf("dittobackup.dittofs.dittofs.com/%s created\n", created.Name)
	if !e.flags.wait {
		p.printf("watch it: kubectl get dittobackup -n %s %s -w\n", created.Namespace, created.Name)
		return p.err
	}
	if err := waitBackup(ctx, e, p, created); err != nil {
		return err
	}
	return p.err
}

// desiredBackup is the DittoBackup backup creates: named by --name, else
// after the server and the time.
func desiredBackup(ds *dittov1alpha1.DittoServer, f *flags, now time.Time) *dittov1alpha1.DittoBackup {
	name := f.backupName
	if name == "" {
		name = ds.Name + "-" + now.UTC().Format("20060102-150405")
	}
	return &dittov1alpha1.DittoBackup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ds.Namespace},
		Spec: dittov1alpha1.DittoBackupSpec{
			Server:                  dittov1alpha1.LocalServerReference{Name: ds.Name},
			VolumeSnapshotClassName: f.class,
		},
	}
}

// waitBackup polls the backup until it is Completed or Failed, printing
// each phase it sees; it fails when the backup fails or the time is up.
func waitBackup(ctx context.Context, e *env, p *printer, b *dittov1alpha1.DittoBackup) error {
	ctx, cancel := context.WithTimeout(ctx, e.flags.timeout)
	defer cancel()
	last, seen := dittov1alpha1.BackupPhase(""), false
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		cur, err := e.ditto.DittofsV1alpha1().DittoBackups(b.Namespace).Get(ctx, b.Name, metav1.GetOptions{})
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("DittoBackup %s/%s: %w", b.Namespace, b.Name, err)
		}
		if err == nil && (!seen || cur.Status.Phase != last) {
			last, seen = cur.Status.Phase, true
			p.printf("%s\n", backupLine(cur))
		}
		switch last {
		case dittov1alpha1.BackupCompleted:
			return nil
		case dittov1alpha1.BackupFailed:
			return fmt.Errorf("DittoBackup %s/%s failed: %s", b.Namespace, b.Name, readyMessage(cur))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("DittoBackup %s/%s is still %s after %s (it goes on; kubectl get dittobackup -n %s %s -w)",
				b.Namespace, b.Name, orDash(string(last)), e.flags.timeout, b.Namespace, b.Name)
		case <-tick.C:
		}
	}
}

// backupLine is one phase change of a backup.
func backupLine(b *dittov1alpha1.DittoBackup) string {
	switch b.Status.Phase {
	case dittov1alpha1.BackupCompleted:
		return fmt.Sprintf("Completed: size %s, clients paused %s", orDash(b.Status.Size), pauseOf(b))
	case "":
		return "Pending: the operator has not picked the backup up yet"
	}
	return fmt.Sprintf("%s: %s", b.Status.Phase, readyMessage(b))
}

// readyMessage is the reason and message of the Ready condition.
func readyMessage(b *dittov1alpha1.DittoBackup) string {
	for _, c := range b.Status.Conditions {
		if c.Type == dittov1alpha1.ConditionReady {
			return orDash(c.Reason) + ", " + oneLine(c.Message)
		}
	}
	return "-"
}
