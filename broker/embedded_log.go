package broker

import (
	"context"
	"fmt"
	"log/slog"
)

// serverLog passes the NATS server's log to a slog.Logger: its notices at
// debug (they are chatty: a banner, every route connection), warnings and
// errors at their levels; its debug and trace are dropped.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Noticef(format string, v ...any) { l.at(slog.LevelDebug, format, v) }
func (l serverLog) Warnf(format string, v ...any)   { l.at(slog.LevelWarn, format, v) }
func (l serverLog) Errorf(format string, v ...any)  { l.at(slog.LevelError, format, v) }
func (l serverLog) Fatalf(format string, v ...any)  { l.at(slog.LevelError, format, v) }
func (l serverLog) Debugf(string, ...any)           {}
func (l serverLog) Tracef(string, ...any)           {}

func (l serverLog) at(level slog.Level, format string, v []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "part", "nats")
	}
}
