// Command baton runs Baton's coordinators and etcd, and talks to a running
// cluster.
//
//	baton run etcd|standalone|rootcoord|datacoord|querycoord
//	baton ctl status|tso|id|collection ...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "baton: "+err.Error())
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "baton",
		Short:         "Active-standby coordinators on etcd",
		Version:       version.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(newRunCmd(), newCtlCmd())
	strictGroups(root)
	return root
}

// strictGroups makes every command that only groups others (run, ctl,
// ctl collection) refuse a misspelt subcommand with an error and a
// suggestion, where cobra would print help and exit 0, so that a typo in a
// script does not pass for success.
func strictGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
	if !c.HasSubCommands() || c.Runnable() || !c.HasParent() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return unknownCommand(cmd, args[0])
	}
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		// Children inherit this function; only a group has commands to list.
		if !cmd.HasSubCommands() {
			return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
		}
		return fmt.Errorf("%w for %q; its commands are %s (see %s --help)",
			err, cmd.CommandPath(), subcommandNames(cmd), cmd.CommandPath())
	})
}

func unknownCommand(cmd *cobra.Command, typed string) error {
	msg := fmt.Sprintf("unknown command %q for %q", typed, cmd.CommandPath())
	if s := cmd.SuggestionsFor(typed); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	} else {
		msg += "; its commands are " + subcommandNames(cmd)
	}
	return errors.New(msg)
}

func subcommandNames(cmd *cobra.Command) string {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return strings.Join(names, ", ")
}
