package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// serverView is everything status prints about one server.
type serverView struct {
	server    *dittov1alpha1.DittoServer
	claims    []corev1.PersistentVolumeClaim
	shares    []dittov1alpha1.DittoShare
	users     []dittov1alpha1.DittoUser
	backups   []dittov1alpha1.DittoBackup
	schedules []dittov1alpha1.DittoScheduledBackup
	// noBackups says why backups and schedules are not shown, "" when they are.
	noBackups string
	warnings  []corev1.Event
}

func status(ctx context.Context, e *env, args []string) error {
	v, err := gatherServer(ctx, e, e.namespace, args[0])
	if err != nil {
		return err
	}
	return writeStatus(e.out, v, e.now)
}

func gatherServer(ctx context.Context, e *env, ns, name string) (*serverView, error) {
	ds, err := e.ditto.DittofsV1alpha1().DittoServers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("DittoServer %s/%s: %w", ns, name, err)
	}
	v := &serverView{server: ds}
	if v.claims, err = serverClaims(ctx, e, ds); err != nil {
		return nil, err
	}
	if v.shares, err = serverShares(ctx, e, ds); err != nil {
		return nil, err
	}
	if v.users, err = serverUsers(ctx, e, ds); err != nil {
		return nil, err
	}
	if v.noBackups, err = gatherBackups(ctx, e, v); err != nil {
		return nil, err
	}
	objs := []involved{{"DittoServer", ds.Namespace, ds.Name}}
	for _, s := range v.shares {
		objs = append(objs, involved{"DittoShare", s.Namespace, s.Name})
	}
	for _, u := range v.users {
		objs = append(objs, involved{"DittoUser", u.Namespace, u.Name})
	}
	if v.warnings, err = warnings(ctx, e, objs); err != nil {
		return nil, err
	}
	return v, nil
}

// writeStatus prints v; now dates the conditions and events.
func writeStatus(w io.Writer, v *serverView, now time.Time) error {
	ds := v.server
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	pr := &printer{w: tw}
	p := pr.printf
	p("DittoServer %s/%s\n", ds.Namespace, ds.Name)
	p("Phase:\t%s\n", orDash(string(ds.Status.Phase)))
	p("Replicas:\t%d ready of %d\n", ds.Status.ReadyReplicas, ds.Status.Replicas)
	p("NFS:\t%s\n", orDash(ds.Status.NFSEndpoint))
	p("SMB:\t%s\n", orDash(ds.Status.SMBEndpoint))
	p("Shares:\t%d ready of %d\n", ds.Status.SharesReady, ds.Status.Shares)
	if ds.Spec.Paused {
		p("Paused:\ttrue (spec.paused holds every change)\n")
	}
	if ds.Status.ObservedGeneration != ds.Generation {
		p("Observed:\tgeneration %d of %d (the operator has not seen the latest spec yet)\n", ds.Status.ObservedGeneration, ds.Generation)
	}
	section(pr, "Conditions", len(ds.Status.Conditions), "TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range ds.Status.Conditions {
		p("  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, orDash(c.Reason), age(now, c.LastTransitionTime.Time), oneLine(c.Message))
	}
	section(pr, "Volumes", len(v.claims), "CLAIM\tSTATUS\tCAPACITY\tREQUESTED\tSTORAGECLASS")
	for _, c := range v.claims {
		p("  %s\t%s\t%s\t%s\t%s\n", c.Name, c.Status.Phase, quantity(c.Status.Capacity), quantity(c.Spec.Resources.Requests), orDash(ptrString(c.Spec.StorageClassName)))
	}
	section(pr, "Shares", len(v.shares), "SHARE\tEXPORT\tQUOTA\tUSED\tCLAIM\tREADY\tREASON")
	for _, s := range v.shares {
		ready, reason := readiness(s.Status.Conditions)
		p("  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", qualified(s.Namespace, s.Name, ds.Namespace), exportOf(&s), quota(&s), usageOf(&s), claimOf(&s), ready, reason)
	}
	section(pr, "Users", len(v.users), "USER\tUSERNAME\tUID\tREADY\tREASON")
	for _, u := range v.users {
		ready, reason := readiness(u.Status.Conditions)
		p("  %s\t%s\t%s\t%s\t%s\n", qualified(u.Namespace, u.Name, ds.Namespace), usernameOf(&u), ptrInt(u.Spec.UID), ready, reason)
	}
	writeBackups(pr, v, now)
	section(pr, "Recent warnings", len(v.warnings), "LAST SEEN\tOBJECT\tREASON\tMESSAGE")
	for _, ev := range v.warnings {
		o := ev.InvolvedObject
		p("  %s\t%s/%s\t%s\t%s\n", age(now, lastSeen(ev)), o.Kind, qualified(o.Namespace, o.Name, ds.Namespace), ev.Reason, oneLine(ev.Message))
	}
	if pr.err != nil {
		return pr.err
	}
	return tw.Flush()
}

// writeBackups prints the server's backups and backup schedules.
func writeBackups(pr *printer, v *serverView, now time.Time) {
	p := pr.printf
	if v.noBackups != "" {
		p("\nBackups:\tnot shown (%s)\n", v.noBackups)
		return
	}
	section(pr, "Backups", len(v.backups), "BACKUP\tPHASE\tSIZE\tAGE\tPAUSE")
	for _, b := range v.backups {
		p("  %s\t%s\t%s\t%s\t%s\n", b.Name, orDash(string(b.Status.Phase)), orDash(b.Status.Size), age(now, b.CreationTimestamp.Time), pauseOf(&b))
	}
	section(pr, "Backup schedules", len(v.schedules), "SCHEDULE\tCRON\tSUSPENDED\tLAST SUCCESS\tNEXT")
	for _, s := range v.schedules {
		p("  %s\t%s\t%t\t%s\t%s\n", s.Name, s.Spec.Schedule, s.Spec.Suspend, agoOrDash(now, s.Status.LastSuccessfulTime), inOrDash(now, s.Status.NextScheduleTime))
	}
}

func agoOrDash(now time.Time, t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return age(now, t.Time) + " ago"
}

func inOrDash(now time.Time, t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return "in " + duration.HumanDuration(t.Sub(now))
}

// section starts a table, or says there is nothing in it.
func section(p *printer, title string, n int, header string) {
	if n == 0 {
		p.printf("\n%s:\tnone\n", title)
		return
	}
	p.printf("\n%s:\n  %s\n", title, header)
}

func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	return orDash(strings.Join(strings.Fields(s), " "))
}

func quantity(l corev1.ResourceList) string {
	q, ok := l[corev1.ResourceStorage]
	if !ok {
		return "-"
	}
	return q.String()
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptrInt(i *int64) string {
	if i == nil {
		return "-"
	}
	return fmt.Sprint(*i)
}

// exportOf is the share's export path: as the server has it, else as the
// spec asks for it, else the default (the object's name).
func exportOf(s *dittov1alpha1.DittoShare) string {
	name := s.Status.ExportName
	if name == "" {
		name = s.Spec.ExportName
	}
	if name == "" {
		name = s.Name
	}
	return "/" + strings.TrimPrefix(name, "/")
}

func quota(s *dittov1alpha1.DittoShare) string {
	if s.Spec.Quota == nil {
		return "none"
	}
	return s.Spec.Quota.String()
}

// usernameOf is the user's name on the server (the object's name by default).
func usernameOf(u *dittov1alpha1.DittoUser) string {
	switch {
	case u.Status.Username != "":
		return u.Status.Username
	case u.Spec.Username != "":
		return u.Spec.Username
	}
	return u.Name
}
