// The agent's end of the CNI plugin's socket (src/cni/wire.ts): a unix socket only root may
// use (mode 0600, its directory made 0700 when the agent creates it), one JSON request line per
// connection, answered with one JSON line. Requests are checked here; a bad one is answered
// with the CNI error it deserves and changes nothing.

import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { z } from "zod";
import { CNI_ERRORS, type CniAnswer, type CniRequest } from "../cni/wire.ts";
import { tryParseAddress } from "../net/cidr.ts";
import type { Agent } from "./agent.ts";
import type { Logger } from "./logger.ts";

const Name = z.string().min(1).max(253);
const Interface = z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, "is not an interface name");
const PodRefSchema = z.object({ namespace: Name, name: Name });
/** Canonical text, as the engine and the kernel's sets hold addresses. */
const Address = z.string().transform((text, ctx) => {
  const a = tryParseAddress(text);
  if (a) return a.text;
  ctx.addIssue({ code: "custom", message: `"${text}" is not an IP address` });
  return z.NEVER;
});
const Timeout = z.number().int().positive().max(300_000);

const RequestSchema = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("add"),
    timeoutMs: Timeout,
    attachment: z.object({
      containerId: Name,
      pod: PodRefSchema,
      netns: z.string().min(1),
      ifname: Interface,
      hostInterface: Interface,
      bridge: Interface.optional(),
      mac: z
        .string()
        .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "is not a lower-case MAC")
        .optional(),
      addresses: z.array(Address).min(1),
    }),
  }),
  z.object({
    op: z.literal("del"),
    containerId: Name,
    pod: PodRefSchema.optional(),
    timeoutMs: Timeout,
  }),
  z.object({ op: z.literal("check"), containerId: Name, pod: PodRefSchema, timeoutMs: Timeout }),
]);

const MAX_REQUEST = 64 * 1024;

function answerTo(agent: Agent, r: CniRequest): Promise<CniAnswer> {
  switch (r.op) {
    case "add":
      return agent.cniAdd(r.attachment, r.timeoutMs);
    case "del":
      return agent.cniDel(r.containerId, r.pod);
    case "check":
      return agent.cniCheck(r.containerId, r.pod);
  }
}

function parse(line: string): CniRequest | CniAnswer {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, code: CNI_ERRORS.decode, msg: "request is not JSON" };
  }
  const r = RequestSchema.safeParse(raw);
  if (r.success) return r.data as CniRequest;
  const issue = r.error.issues[0];
  return {
    ok: false,
    code: CNI_ERRORS.invalidConfig,
    msg: `request: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
  };
}

/** Told of every answer (metrics): the request's operation, or "invalid" when it did not parse. */
export type AnswerListener = (op: CniRequest["op"] | "invalid", answer: CniAnswer) => void;

function serve(conn: Socket, agent: Agent, log: Logger, onAnswer?: AnswerListener): void {
  let buffer = "";
  conn.setEncoding("utf8");
  conn.on("error", (e) => log.debug("cni connection failed", { error: e }));
  conn.on("data", (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_REQUEST) {
      conn.end(
        `${JSON.stringify({ ok: false, code: CNI_ERRORS.decode, msg: "request too long" })}\n`,
      );
      return;
    }
    const end = buffer.indexOf("\n");
    if (end < 0) return;
    const request = parse(buffer.slice(0, end));
    conn.removeAllListeners("data");
    const answer = "op" in request ? answerTo(agent, request) : Promise.resolve(request);
    void answer
      .catch(
        (e: unknown): CniAnswer => ({
          ok: false,
          code: CNI_ERRORS.io,
          msg: e instanceof Error ? e.message : String(e),
        }),
      )
      .then((a) => {
        if (!a.ok) log.warn("cni request refused", { request: buffer.slice(0, end), answer: a });
        onAnswer?.("op" in request ? request.op : "invalid", a);
        conn.end(`${JSON.stringify(a)}\n`);
      });
  });
}

/** Listens on `path` for the plugin; resolves once the socket is there with mode 0600. */
export async function listenCni(
  path: string,
  agent: Agent,
  log: Logger,
  onAnswer?: AnswerListener,
): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // A socket left by an agent that died; a live agent on it would be a second agent per node.
  rmSync(path, { force: true });
  const server = createServer((conn) => serve(conn, agent, log, onAnswer));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  log.info("cni socket listening", { path });
  return server;
}
