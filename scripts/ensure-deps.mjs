// Installs what `npm start` and `npm test` need and is missing: npm packages from the
// lockfile, and (as root, for the kernel tests) Debian packages. Idempotent and quiet when
// everything is present.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function npmPackagesMissing() {
  const marker = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(marker)) return true;
  return statSync(join(root, "package-lock.json")).mtimeMs > statSync(marker).mtimeMs;
}

// Debian packages the kernel-level tests and the lab use: command that proves presence -> package.
const debianPackages = [
  ["nft", "nftables"],
  ["ip", "iproute2"],
  ["sysctl", "procps"],
  // The lab's SCTP peer (src/lab/sctp-peer.py): raw sockets, standard library only.
  ["python3", "python3"],
  // Conntrack hygiene (src/dataplane/conntrack.ts) deletes entries of addresses that leave.
  ["conntrack", "conntrack"],
  // The hostile-workload kernel tests forge packets from pod namespaces (test/agent/forge.py).
  ["scapy", "python3-scapy"],
];

function commandExists(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function installDebianPackages() {
  const missing = debianPackages.filter(([cmd]) => !commandExists(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(
      `microseg: missing Debian packages ${missing.join(", ")} (run as root to install)`,
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

if (npmPackagesMissing()) {
  console.log("microseg: installing npm packages");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}
if (process.argv.includes("--system")) installDebianPackages();
