// V8 flags of microseg's long-running processes (agent, server, up). Semi-spaces of 4 MiB
// instead of V8's 16: the agent's heap at 50k pods is hundreds of MB, and a scavenge's pause
// grows with what survives it, which grows with the young generation. At 16 MiB a pod event
// met a 4-5 ms pause about once in 50 and the p99 of pod event to live element was 6.6 ms; at 4
// MiB the pause is 1.5-2 ms, met more often, and that p99 4.0 ms; the engine's cold start and
// pod events are unchanged within noise and its peak RSS is lower (ARCHITECTURE "Garbage
// collection"). The shebang of bin/microseg.js and `npm start` / `npm run bench` in
// package.json pass the same (they cannot import this; test/cli/node-flags.test.ts keeps them
// equal).
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4"];
