// Installs what `npm start` and `npm test` need and is missing: npm packages from the
// lockfile, and Debian packages (as root; otherwise it says what is missing and how to get
// it), and the web UI's build (web/dist) when it is missing or older than its sources. Runs
// before `npm start`, `npm test` and the lint check, so the README's two commands work on a
// fresh machine. Idempotent and quiet when everything is present.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function npmPackagesMissing() {
  const marker = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(marker)) return true;
  return statSync(join(root, "package-lock.json")).mtimeMs > statSync(marker).mtimeMs;
}

// Debian packages the kernel-level tests and the lab use: command (or, starting with "/", file)
// that proves presence -> package.
const debianPackages = [
  ["nft", "nftables"],
  // The kernel's nftables through its library (src/nft/libnftables.ts), no process per change.
  ["/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"],
  ["ip", "iproute2"],
  ["sysctl", "procps"],
  // The lab's SCTP peer (src/lab/sctp-peer.py): raw sockets, standard library only. Also
  // node-gyp's, with make and g++: better-sqlite3 compiles its addon when no prebuilt binary
  // can be fetched (only the npm registry is reachable), so these come before `npm ci`.
  ["python3", "python3"],
  ["make", "make"],
  ["g++", "g++"],
  // The API server's tests: kubectl as a real client (Debian ships it as kubernetes-client),
  // openssl for a self-signed certificate of the TLS test.
  ["kubectl", "kubernetes-client"],
  ["openssl", "openssl"],
  // The CLI's test of progress on a terminal runs it under a pseudo-terminal (script(1)).
  ["script", "bsdutils"],
  // Conntrack hygiene (src/dataplane/conntrack.ts) deletes entries of addresses that leave.
  ["conntrack", "conntrack"],
  // The hostile-workload kernel tests forge packets from pod namespaces (test/agent/forge.py).
  ["scapy", "python3-scapy"],
  // Flow capture (src/flows): NFLOG to JSON lines, per node network namespace.
  ["ulogd", "ulogd2"],
  ["/usr/lib/x86_64-linux-gnu/ulogd/ulogd_output_JSON.so", "ulogd2-json"],
  // The Alertmanager sink's tests run the real one on loopback.
  ["prometheus-alertmanager", "prometheus-alertmanager"],
  // The etcd datastore's tests start their own etcd (src/datastore/etcd, test/etcd-server.ts).
  ["etcd", "etcd-server"],
  // The CNI chain's test and bench run Debian's bridge and host-local plugins before microseg's.
  ["/usr/lib/cni/bridge", "containernetworking-plugins"],
  // The web UI's browser test drives Debian's chromium through playwright-core.
  ["chromium", "chromium"],
];

function commandExists(cmd) {
  if (cmd.startsWith("/")) return existsSync(cmd);
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function installDebianPackages() {
  const missing = debianPackages.filter(([cmd]) => !commandExists(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(
      `microseg: missing Debian packages: ${missing.join(" ")}. Kernel enforcement, the lab and ` +
        `their tests need them: run this as root, or install them with ` +
        `\`sudo apt-get install ${missing.join(" ")}\`.`,
    );
    return;
  }
  console.log(`microseg: installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env,
  });
}

/** Newest modification time under `path` (a file or a folder). */
function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((e) => newestMtime(join(path, e))));
}

// The UI is built here, once, rather than shipped prebuilt: a fresh clone (CI, a user's
// machine) builds it in a few seconds, and no generated bundle lives in git.
function webUiStale() {
  const built = join(root, "web", "dist", "index.html");
  if (!existsSync(built)) return true;
  const sources = ["web/src", "web/index.html", "web/vite.config.ts", "package-lock.json"];
  return Math.max(...sources.map((p) => newestMtime(join(root, p)))) > statSync(built).mtimeMs;
}

installDebianPackages();
if (npmPackagesMissing()) {
  console.log("microseg: installing npm packages");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}
if (webUiStale()) {
  console.log("microseg: building the web UI (web/ -> web/dist)");
  execFileSync(
    process.execPath,
    [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "web"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
