// Package services holds the duties that keep jobs moving after they end,
// apart from any HTTP API: passing mutex keys on and repairing their
// lines (Mutexes), delivering completion callbacks (Callbacks), removing
// files past their keep time (Files); more will follow (pruning). Each is a
// service in the manner of River's maintenance services: made with its
// own config, whose defaults it owns, and run between Start and Stop.
// Every change a service makes is a compare-and-swap on the broker, so
// several processes may run the same service at once; internal/app
// starts them under every role that has a broker connection, so that a
// gateway that is down holds nothing up — with runners running and no
// gateway, mutex keys still pass on.
package services
