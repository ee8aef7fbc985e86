// V8 flags of microseg's long-running processes (agent, server, up), for the latency of a pod
// event to its live element (ARCHITECTURE, pod event to live element):
// - Semi-spaces of 4 MiB instead of V8's 16: the agent's heap at 50k pods is hundreds of MB, and
//   a scavenge's pause grows with what survives it, which grows with the young generation. At
//   16 MiB an event met a 4-5 ms pause about once in 50; at 4 MiB the pause is 1.5-3 ms, and V8
//   runs most of them between events (on a turn of the event loop, before the space fills).
// - One V8 helper thread instead of four: on a node of two cores the helpers (GC, compilation)
//   preempted the agent's own thread for a scheduler slice of 3-5 ms in about one local event
//   in 30 (pod event p99 at 50k 4.0-4.8 -> 2.4-2.6 ms); the engine's cold start did not change.
// The shebang of bin/microseg.js and `npm start` / `npm run bench` in package.json pass the same
// (they cannot import this; test/cli/node-flags.test.ts keeps them equal).
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4", "--v8-pool-size=1"];
