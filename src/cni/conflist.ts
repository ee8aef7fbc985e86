// The node's CNI network configuration with microseg chained into it, as text in and text out
// (no I/O: src/cni/install.ts reads and writes the files). microseg is a chained plugin: it
// goes after the plugins already there (the one that makes the pod's link first), and every
// other plugin and field is kept as it was.

import { z } from "zod";

export const PLUGIN_TYPE = "microseg";
/** The only CNI version the plugin speaks (src/cni/plugin.ts). */
export const CNI_VERSION = "1.0.0";

/** A configuration microseg cannot chain into; `field` is the path in the file. */
export class ConflistError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
  }
}

const pluginSchema = z.looseObject({ type: z.string().min(1) });
const conflistSchema = z.looseObject({
  cniVersion: z.string(),
  name: z.string().min(1),
  plugins: z.array(pluginSchema).min(1),
});
/** A `.conf` file: one plugin with the network's cniVersion and name beside its own fields. */
const confSchema = z.looseObject({
  cniVersion: z.string(),
  name: z.string().min(1),
  type: z.string().min(1),
});

type Conflist = z.infer<typeof conflistSchema>;
export type PluginEntry = z.infer<typeof pluginSchema>;

/** `plugins.2.type` as `plugins[2].type`. */
const fieldPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (at, key) =>
      typeof key === "number" ? `${at}[${key}]` : at === "" ? String(key) : `${at}.${String(key)}`,
    "",
  ) || "(the document)";

function parse<T>(schema: z.ZodType<T>, file: string, text: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConflistError(file, "(the document)", `not JSON (${(e as Error).message})`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConflistError(file, fieldPath(issue.path), issue.message);
  }
  return result.data;
}

/** A `.conflist`, or a `.conf` or `.json` (one plugin, as libcni reads them) as a list of it. */
export function readNetwork(file: string, text: string): Conflist {
  if (file.endsWith(".conflist")) return parse(conflistSchema, file, text);
  const { cniVersion, name, ...plugin } = parse(confSchema, file, text);
  return { cniVersion, name, plugins: [plugin] };
}

const isMicroseg = (p: PluginEntry) => p.type === PLUGIN_TYPE;

/**
 * The network with `entry` as its microseg plugin: an entry already there is replaced where it
 * stands (one left, if there were several), else `entry` goes last. Refuses a network whose
 * cniVersion the plugin does not speak (every ADD would fail, and no pod would start) or that
 * holds only microseg (nothing would make the pod's link).
 */
export function chainMicroseg(file: string, net: Conflist, entry: PluginEntry): Conflist {
  if (net.cniVersion !== CNI_VERSION)
    throw new ConflistError(
      file,
      "cniVersion",
      `${JSON.stringify(net.cniVersion)}: microseg's plugin speaks ${CNI_VERSION} only`,
    );
  const first = net.plugins.findIndex(isMicroseg);
  const others = net.plugins.filter((p) => !isMicroseg(p));
  if (others.length === 0)
    throw new ConflistError(
      file,
      "plugins",
      "no plugin that makes the pod's link (bridge, ptp, ...) for microseg to chain after",
    );
  const plugins =
    first < 0
      ? [...others, entry]
      : net.plugins.flatMap((p, i) => (i === first ? [entry] : isMicroseg(p) ? [] : [p]));
  return { ...net, plugins };
}

/** The network without microseg's plugin. */
export function unchainMicroseg(net: Conflist): Conflist {
  return { ...net, plugins: net.plugins.filter((p) => !isMicroseg(p)) };
}

export const hasMicroseg = (net: Conflist): boolean => net.plugins.some(isMicroseg);

/** The text written back: two-space JSON, as the CNI plugins' own installers write theirs. */
export const conflistText = (net: Conflist): string => `${JSON.stringify(net, null, 2)}\n`;
