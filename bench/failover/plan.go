package main

import (
	"context"
	"errors"
	"time"

	"github.com/batonhq/baton/bench/internal/refcoord"
	"github.com/batonhq/baton/pkg/client"
)

// Where each group keeps its keys in the one etcd of a run.
const (
	batonRoot       = "bench-baton"
	batonFrozenRoot = "bench-baton-frozen"
	milvusRoot      = "bench-milvus"
	refPrefix       = "/bench-refcoord/rootcoord"
)

// refAttempt bounds one attempt of the reference client, as pkg/client's
// default does.
const refAttempt = 5 * time.Second

// part is one group of rows run on one pair of processes.
type part func(ctx context.Context) error

// run runs every selected part in turn. A part that fails is reported and
// the next one runs; the errors are returned together.
func (b *bench) run(ctx context.Context) error {
	var errs []error
	for _, p := range []part{b.batonPart, b.batonFrozenPart, b.milvusPart, b.etcdPart, b.catalogPart} {
		if err := p(ctx); err != nil {
			b.h.progressf("ERROR: %v", err)
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// batonPart: Baton with its defaults (frozen too, unless -quick).
func (b *bench) batonPart(ctx context.Context) error {
	o := b.opt
	frozen := o.wants(sysBaton, scFrozen) && !o.quick
	if !o.wants(sysBaton, scCrash) && !o.wants(sysBaton, scGraceful) &&
		!o.wants(sysBaton, scGap) && !frozen {
		return nil
	}
	fl := batonFlavor(batonOptions{system: sysBaton, rootPath: batonRoot, fast: true, warm: true})
	steps := []step{
		{o.wants(sysBaton, scCrash), func(ctx context.Context, g *group) error {
			return b.crash(ctx, g, o.trials)
		}},
		{o.wants(sysBaton, scGraceful), func(ctx context.Context, g *group) error {
			return b.graceful(ctx, g, o.trials)
		}},
		{o.wants(sysBaton, scGap), func(ctx context.Context, g *group) error {
			return b.clientGap(ctx, g, o.trials, b.batonClient(batonRoot))
		}},
		{frozen, func(ctx context.Context, g *group) error { return b.frozen(ctx, g, o.trials) }},
	}
	return b.withGroup(ctx, fl, steps)
}

// batonFrozenPart: in -quick mode, frozen runs with a short TTL.
func (b *bench) batonFrozenPart(ctx context.Context) error {
	if !b.opt.quick || !b.opt.wants(sysBaton, scFrozen) {
		return nil
	}
	fl := batonFlavor(batonOptions{system: sysBaton, rootPath: batonFrozenRoot, ttl: quickTTL,
		fast: true, warm: true})
	return b.withGroup(ctx, fl, []step{{true, func(ctx context.Context, g *group) error {
		return b.frozen(ctx, g, b.opt.trials)
	}}})
}

// milvusPart: Baton configured like Milvus (lease only, cold promotion).
func (b *bench) milvusPart(ctx context.Context) error {
	o := b.opt
	ttl := 30 * time.Second
	if o.quick {
		ttl = quickTTL
	}
	fl := batonFlavor(batonOptions{system: sysMilvus, rootPath: milvusRoot, ttl: ttl})
	return b.withGroup(ctx, fl, []step{
		{o.wants(sysMilvus, scCrash), func(ctx context.Context, g *group) error {
			return b.crash(ctx, g, o.baselineTrials)
		}},
		{o.wants(sysMilvus, scGap), func(ctx context.Context, g *group) error {
			return b.clientGap(ctx, g, o.baselineTrials, b.batonClient(milvusRoot))
		}},
	})
}

// etcdPart: the reference coordinator on etcd's concurrency package.
func (b *bench) etcdPart(ctx context.Context) error {
	o := b.opt
	ttl := 10 * time.Second
	if o.quick {
		ttl = quickTTL
	}
	newClient := func() allocator { return refcoord.NewClient(b.h.cli, refPrefix, refAttempt) }
	return b.withGroup(ctx, refFlavor(refPrefix, ttl), []step{
		{o.wants(sysEtcd, scCrash), func(ctx context.Context, g *group) error {
			return b.crash(ctx, g, o.baselineTrials)
		}},
		{o.wants(sysEtcd, scGraceful), func(ctx context.Context, g *group) error {
			return b.graceful(ctx, g, o.trials)
		}},
		{o.wants(sysEtcd, scGap), func(ctx context.Context, g *group) error {
			return b.clientGap(ctx, g, o.baselineTrials, newClient)
		}},
	})
}

func (b *bench) catalogPart(ctx context.Context) error {
	if !b.opt.wants(sysBaton, scCatalog) {
		return nil
	}
	return b.catalog(ctx, b.opt.trials)
}

// step is one scenario of a part, run if selected.
type step struct {
	selected bool
	run      func(ctx context.Context, g *group) error
}

// withGroup starts a pair of fl and runs the selected steps on it; a step
// that fails does not stop the next.
func (b *bench) withGroup(ctx context.Context, fl flavor, steps []step) error {
	selected := false
	for _, s := range steps {
		selected = selected || s.selected
	}
	if !selected {
		return nil
	}
	b.h.progressf("%s: starting an active and a standby (TTL %v)", fl.system, fl.ttl)
	g, err := newGroup(ctx, b.h, fl)
	if err != nil {
		return err
	}
	defer g.close()
	var errs []error
	for _, s := range steps {
		if !s.selected {
			continue
		}
		if err := s.run(ctx, g); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil || g.active == nil || g.standby == nil {
			break // stopped, or no pair left after a failed trial
		}
	}
	return errors.Join(errs...)
}

// batonClient returns a constructor of pkg/client clients under rootPath,
// with the default options.
func (b *bench) batonClient(rootPath string) func() allocator {
	return func() allocator { return client.New(b.h.cli, rootPath) }
}
