// Command kubectl-ditto is a kubectl plugin for the DittoFS operator
// (`kubectl ditto ...`): it shows at a glance what `kubectl get` spreads over
// several objects — a server with its volumes, shares, users, backups and
// recent warnings; where each share is mounted from; how to log in; which
// versions run — and it takes backups and restores them. It writes only when
// asked to (backup, restore), and prints a secret only with
// credentials --show-password.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	"github.com/dittofs/dittofs-operator/pkg/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, connect)
	stop()
	os.Exit(code)
}

// connectFunc makes the clients from the kubeconfig flags; tests pass fakes.
type connectFunc func(clientcmd.ClientConfig) (kubernetes.Interface, versioned.Interface, error)

// run parses the command line, connects and runs one subcommand. It returns
// the exit code: 0, 1 when the subcommand failed, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, connect connectFunc) int {
	return runAt(ctx, args, stdout, stderr, connect, time.Now())
}

// runAt is run with the time that ages of events and conditions count from.
func runAt(ctx context.Context, args []string, stdout, stderr io.Writer, connect connectFunc, now time.Time) int {
	fs := pflag.NewFlagSet("kubectl-ditto", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	fs.StringVar(&loading.ExplicitPath, "kubeconfig", "", "Path to the kubeconfig file (default $KUBECONFIG, else ~/.kube/config).")
	overrides := &clientcmd.ConfigOverrides{}
	clientcmd.BindOverrideFlags(overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
	all := fs.BoolP("all-namespaces", "A", false, "List across all namespaces (shares, version).")
	f := bindFlags(fs)
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		complain(stderr, "kubectl ditto: %v\n", err)
		return 2
	}
	if fs.NArg() == 0 {
		usage(stderr, fs)
		return 2
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		complain(stderr, "kubectl ditto: unknown command %q\n", fs.Arg(0))
		usage(stderr, fs)
		return 2
	}
	rest := fs.Args()[1:]
	if len(rest) != cmd.args {
		complain(stderr, "usage: kubectl ditto %s\n", cmd.usage)
		return 2
	}
	if err := f.check(fs, fs.Arg(0)); err != nil {
		complain(stderr, "kubectl ditto: %v\n", err)
		return 2
	}
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, overrides)
	e, err := newEnv(cfg, *all, stdout, connect, now)
	if e != nil {
		e.flags, e.errOut = f, stderr
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, f.deadline())
		defer cancel()
		err = cmd.run(ctx, e, rest)
	}
	if err != nil {
		complain(stderr, "kubectl ditto %s: %v\n", fs.Arg(0), err)
		return 1
	}
	return 0
}

// connect builds the clientsets from the kubeconfig, as kubectl does.
func connect(cfg clientcmd.ClientConfig) (kubernetes.Interface, versioned.Interface, error) {
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, nil, err
	}
	rest.UserAgent = "kubectl-ditto/" + version.Version
	kube, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, nil, err
	}
	ditto, err := versioned.NewForConfig(rest)
	if err != nil {
		return nil, nil, err
	}
	return kube, ditto, nil
}

func usage(w io.Writer, fs *pflag.FlagSet) {
	complain(w, "kubectl ditto: the DittoFS operator at a glance, backups and restores (prints a secret only when asked to).\n\nCommands:\n")
	for _, name := range commandOrder {
		c := commands[name]
		complain(w, "  %-46s %s\n", c.usage, c.help)
	}
	complain(w, "\nFlags (kubectl's, and the plugin's, each named with its subcommands):\n%s", fs.FlagUsages())
}
