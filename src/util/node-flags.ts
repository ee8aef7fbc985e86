// V8 flags of microseg's long-running processes (agent, server, up). Semi-spaces of 4 MiB
// instead of V8's 16: the agent's heap at 50k pods is hundreds of MB, and a scavenge's pause
// grows with what survives it, which grows with the young generation. At 16 MiB a pod event
// met a 4-5 ms pause about once in 50 and the p99 of pod event to live element was 6.6 ms; at 4
// MiB the pause is 1.5-3 ms, met more often, and that p99 4.0 ms (4.4-5.6 ms over later runs);
// the engine's cold start is unchanged within noise, its pod create p99 0.26 -> 0.3 ms and its
// peak RSS lower (ARCHITECTURE, pod event to live element). The shebang of bin/microseg.js and `npm start` / `npm run bench` in
// package.json pass the same (they cannot import this; test/cli/node-flags.test.ts keeps them
// equal).
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4"];
