// The agent's Prometheus metrics (`microseg agent --metrics-listen HOST:PORT`, GET /metrics).
// Today: how long a CNI ADD takes from the agent receiving it to the pod's rules being
// committed in the kernel, and the CNI requests answered, by operation and CNI error code.

import { createServer, type Server } from "node:http";
import { Counter, Histogram, Registry } from "prom-client";

export class AgentMetrics {
  readonly registry = new Registry();
  readonly cniAddToEnforced = new Histogram({
    name: "microseg_cni_add_to_enforced_seconds",
    help: "CNI ADD received by the agent to the pod's isolation and policy committed in nftables",
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly cniRequests = new Counter({
    name: "microseg_cni_requests_total",
    help: "CNI requests the agent answered, by operation and result (ok, or the CNI error code)",
    labelNames: ["op", "result"],
    registers: [this.registry],
  });

  /** Serves GET /metrics on host:port; resolves with the bound port (0 picks one). */
  listen(host: string, port: number): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      if (req.method !== "GET" || req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      void this.registry.metrics().then((text) => {
        res.writeHead(200, { "content-type": this.registry.contentType }).end(text);
      });
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve({ server, port: typeof address === "object" && address ? address.port : port });
      });
    });
  }
}
