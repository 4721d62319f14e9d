package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// flags are the plugin's own flags; each belongs to some subcommands only.
type flags struct {
	output       string
	backupName   string
	class        string
	wait         bool
	timeout      time.Duration
	to           string
	showPassword bool
}

// flagOwners says which subcommands take each of the plugin's own flags.
var flagOwners = map[string][]string{
	"name":          {"backup"},
	"class":         {"backup"},
	"wait":          {"backup"},
	"timeout":       {"backup"},
	"to":            {"restore"},
	"show-password": {"credentials"},
}

func bindFlags(fs *pflag.FlagSet) *flags {
	f := &flags{}
	fs.StringVarP(&f.output, "output", "o", "", "mount: yaml prints only the objects, for kubectl apply -f -.")
	fs.StringVar(&f.backupName, "name", "", "backup: the DittoBackup's name (default SERVER-YYYYMMDD-HHMMSS).")
	fs.StringVar(&f.class, "class", "", "backup: the VolumeSnapshotClass (default the server's spec.backup, else the cluster's).")
	fs.BoolVar(&f.wait, "wait", false, "backup: wait until the backup is Completed or Failed, printing its phases.")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "backup --wait: how long to wait.")
	fs.StringVar(&f.to, "to", "", "restore: the name of the DittoServer to create (in -n's namespace).")
	fs.BoolVar(&f.showPassword, "show-password", false, "credentials: print the admin password itself (a warning goes to stderr first).")
	return f
}

// check refuses a flag given to a subcommand that does not take it, and
// bad values.
func (f *flags) check(fs *pflag.FlagSet, cmd string) error {
	if f.output != "" && (cmd != "mount" || f.output != "yaml") {
		return fmt.Errorf("-o %s: only mount takes -o, and only -o yaml", f.output)
	}
	var err error
	fs.Visit(func(fl *pflag.Flag) {
		owners, ok := flagOwners[fl.Name]
		if !ok || err != nil {
			return
		}
		for _, o := range owners {
			if o == cmd {
				return
			}
		}
		err = fmt.Errorf("--%s: only %s takes it", fl.Name, owners[0])
	})
	switch {
	case err != nil:
		return err
	case f.timeout <= 0:
		return fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	return nil
}

// deadline bounds a subcommand: a minute, or the wait's timeout and a minute.
func (f *flags) deadline() time.Duration {
	if f.wait {
		return f.timeout + time.Minute
	}
	return time.Minute
}
