// A client script for `node -e`: parallel loops of connect-and-close to one port, bounded by
// count and time, printing {done, failed, ms}: new connections per second for the kernel benches.
// Arguments: host, total, limitMs, loops.
export function connectLoopScript(port: number): string {
  return `
const net = require("node:net");
const [host, total, limitMs, loops] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
let done = 0, failed = 0; const t0 = Date.now();
const finish = () => { console.log(JSON.stringify({ done, failed, ms: Date.now() - t0 })); process.exit(0); };
function one() {
  if (done + failed >= total || Date.now() - t0 > limitMs) return finish();
  const s = net.connect(${port}, host, () => { done++; s.destroy(); one(); });
  s.setTimeout(1000, () => { failed++; s.destroy(); one(); });
  s.on("error", () => { failed++; one(); });
}
for (let i = 0; i < loops; i++) one();
`;
}
