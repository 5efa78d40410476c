package etcdserver

import (
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// quietCore drops every entry once the member is closing: embed reports
// its own listeners shutting down as errors, which would look like a fault
// at every clean stop.
type quietCore struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c quietCore) With(fields []zapcore.Field) zapcore.Core {
	return quietCore{Core: c.Core.With(fields), closing: c.closing}
}

func (c quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() {
		return ce
	}
	return c.Core.Check(e, ce)
}

// newLogger returns etcd's logger at level, writing JSON to stderr.
func newLogger(level string, closing *atomic.Bool) (*zap.Logger, error) {
	lv, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("etcdserver: log level %q: use debug, info, warn or error", level)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(lv)
	zc.Sampling = nil
	// Stack traces only at debug: a taken port is an operator error, and
	// Baton prints its own one-line cause.
	zc.DisableStacktrace = lv > zapcore.DebugLevel
	lg, err := zc.Build(zap.WrapCore(func(core zapcore.Core) zapcore.Core {
		return quietCore{Core: core, closing: closing}
	}))
	if err != nil {
		return nil, fmt.Errorf("etcdserver: build logger: %w", err)
	}
	return lg, nil
}
