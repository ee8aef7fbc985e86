// The UI against a real lab, as a user has it: `microseg up` (API server, two agents enforcing
// with kernel nftables in the lab's network namespaces, ulogd2 flows), the blue LDAP example
// applied with the CLI, chromium on the alerts view. A non-client's LDAP attempt (blue-web-0 to
// ldap-server-0 on 389, the README's example) is a real connection in the lab; its alert must
// reach the open page. Then an edit saved on the policy board (the LDAP clients' Allow widened to
// every blue workload) must change the kernel's ruleset: the same real connection, refused
// before, gets through after. `microseg up` owns the lab: SIGINT takes every namespace and process
// down, and the test checks that none of its lab is left.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { rootSkipReason } from "../nft/needs-root.ts";
import { cli, root, startUp, type UpProcess } from "../up/up-process.ts";
import { launch, visit } from "./browser.ts";

const execFileAsync = promisify(execFile);

/** The network namespaces of a `microseg up` lab. */
const upNetns = (labId: string) =>
  execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.startsWith(`ms-${labId}-`));

describe("web UI on a running lab", { skip: rootSkipReason(), timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "microseg-ui-lab-"));
  const port = 19_000 + Math.floor(Math.random() * 1_000);
  const server = `http://127.0.0.1:${port}`;
  let up: UpProcess | undefined;
  let browser: Browser | undefined;

  const json = async <T>(path: string) => (await (await fetch(`${server}${path}`)).json()) as T;
  /** Every pod placed and both agents at the store's revision (bounded: 90 s). */
  const enforced = async () => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const pods = await json<{ items: { status?: { podIP?: string } }[] }>("/api/v1/pods");
      const rv = await json<{ metadata: { resourceVersion: string } }>(
        "/api/v1/namespaces?limit=1",
      );
      const agents = await json<{ items: { revision: number }[] }>("/api/v1/agents");
      const revision = Number(rv.metadata.resourceVersion);
      if (
        pods.items.length > 0 &&
        pods.items.every((p) => p.status?.podIP) &&
        agents.items.length === 2 &&
        agents.items.every((a) => a.revision >= revision)
      )
        return;
      if (Date.now() > deadline) throw new Error("agents did not enforce the store in 90 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** Whether a real connection from blue-web-0 to ldap-server-0 on 389 gets through. */
  const ldapAllowed = async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      cli,
      ...["lab", "probe", "--state-dir", join(dir, "lab")],
      ...["--from", "directory/blue-web-0", "--to", "directory/ldap-server-0"],
      ...["--ports", "389/TCP", "-o", "json"],
    ]);
    const [probed] = JSON.parse(stdout).results as { allowed: boolean }[];
    assert.ok(probed, stdout);
    return probed.allowed;
  };

  before(async () => {
    up = await startUp(
      ["--state-dir", dir, "--listen", `127.0.0.1:${port}`, "--no-examples"],
      120_000,
    );
    execFileSync(process.execPath, [
      cli,
      "apply",
      "-f",
      join(root, "examples/blue-ldap"),
      "--server",
      server,
    ]);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    if (up && up.child.exitCode === null) {
      up.child.kill("SIGINT");
      await up.exited;
    }
    rmSync(dir, { recursive: true, force: true });
    if (up) assert.deepEqual(upNetns(up.labId), [], "microseg up left network namespaces behind");
  });

  it("a denied LDAP attempt in the lab shows in the open alerts view within 2 s", async () => {
    assert.ok(browser);
    await visit(browser, server, "/ui/#/alerts", async (page) => {
      await page.getByTestId("live").getByText(/^live/).waitFor({ timeout: 30_000 });
      const row = page.locator('[data-testid="alerts"] tr[data-alert="blue-ldap-violation"]');
      // Seen by the page: the moment the row appears, from a watcher started before the probe.
      const seen = page
        .waitForFunction(
          `document.querySelector('tr[data-alert="blue-ldap-violation"]') !== null`,
          undefined,
          { timeout: 60_000, polling: 20 },
        )
        .then(() => Date.now());
      await enforced();
      assert.equal(await ldapAllowed(), false, "the kernel refuses blue-web-0's LDAP connection");
      const seenAt = await seen;
      const alert = (
        (await (await fetch(`${server}/api/v1/alerts`)).json()) as {
          items: { alert: string; time: string; source: string }[];
        }
      ).items.find((a) => a.alert === "blue-ldap-violation");
      assert.ok(alert, "the alert is in the API");
      assert.equal(alert.source, "directory/blue-web-0");
      const delay = seenAt - Date.parse(alert.time);
      assert.ok(delay < 2000, `alert shown ${delay} ms after the packet`);
      assert.match((await row.textContent()) ?? "", /ldap-server-0:389/);
      console.log(`# lab alert shown in the page ${delay} ms after the packet`);
    });
  });

  it("an edit saved on the policy board changes the kernel's ruleset: the probe goes through", async () => {
    assert.ok(browser);
    await enforced();
    assert.equal(await ldapAllowed(), false, "before the edit");
    const path = "/apis/projectcalico.org/v3/globalnetworkpolicies/security.blue-ldap";
    const before = await json<{ metadata: { resourceVersion: string } }>(path);
    await visit(browser, server, "/ui/#/policies", async (page) => {
      await page.locator('[data-policy="blue-ldap"] button').first().click();
      const yaml = page.getByLabel("Policy YAML");
      const written = await yaml.inputValue();
      // The LDAP clients' Allow widened to every blue workload.
      const widened = written.replace(/\s*&&\s*role == ["']ldap-client["']/, "");
      assert.notEqual(widened, written, written);
      await yaml.fill(widened);
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByTestId("editor").waitFor({ state: "detached" });
    });
    const saved = await json<{ metadata: { resourceVersion: string } }>(path);
    assert.notEqual(saved.metadata.resourceVersion, before.metadata.resourceVersion);
    await enforced();
    assert.equal(await ldapAllowed(), true, "after the edit the kernel lets blue-web-0 in");
  });
});
