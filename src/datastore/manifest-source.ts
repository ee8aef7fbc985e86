// Manifest files and directories as a resource source. The paths are polled (size and mtime of
// every manifest file under them); when anything changed, the whole set is loaded again and
// diffed against the last valid load. A set with any error is rejected whole: the previous one
// stays in force until the files are valid again.

import { readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { formatManifestError, loadManifests } from "../model/index.ts";
import { byKey, diffResources, type ResourceMap } from "./resource-diff.ts";
import {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "./source.ts";

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Size and mtime of every file loadManifests would read, in one comparable string. */
async function fingerprint(paths: readonly string[]): Promise<string> {
  const out: string[] = [];
  const visit = async (path: string, named: boolean): Promise<void> => {
    try {
      const info = await stat(path);
      if (info.isDirectory()) {
        for (const name of (await readdir(path)).sort()) {
          if (!name.startsWith(".")) await visit(join(path, name), false);
        }
      } else if (named || MANIFEST_EXTENSIONS.has(extname(path).toLowerCase())) {
        out.push(`${path} ${info.size} ${info.mtimeMs}`);
      }
    } catch {
      out.push(`${path} missing`);
    }
  };
  for (const p of paths) await visit(p, true);
  return out.join("\n");
}

export interface ManifestSourceOptions {
  /** How often the files are checked for changes; 200 ms by default. */
  readonly pollMs?: number;
}

export class ManifestSource implements ResourceSource {
  readonly #paths: readonly string[];
  readonly #pollMs: number;
  #last: ResourceMap = new Map();
  #revision = 0;
  #fingerprint: string | undefined;
  /** The last load was rejected, so the next valid one reports even when nothing changed. */
  #rejected = false;

  constructor(paths: readonly string[], opts: ManifestSourceOptions = {}) {
    this.#paths = paths;
    this.#pollMs = opts.pollMs ?? 200;
  }

  async snapshot(): Promise<SourceSnapshot> {
    this.#fingerprint = await fingerprint(this.#paths);
    const next = await this.#load();
    this.#last = next;
    this.#revision++;
    return { revision: this.#revision, resources: [...next.values()] };
  }

  watch(listener: SourceListener): { stop(): void } {
    let busy = false;
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        const batch = await this.#changes();
        if (batch) listener.onBatch(batch);
      } catch (e) {
        listener.onError(e instanceof SourceError ? e : new SourceError(String(e)));
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(poll, this.#pollMs);
    return { stop: () => clearInterval(timer) };
  }

  /** The changes since the last valid load, when the files changed; undefined otherwise. */
  async #changes(): Promise<SourceBatch | undefined> {
    const now = await fingerprint(this.#paths);
    if (now === this.#fingerprint) return undefined;
    this.#fingerprint = now;
    let next: ResourceMap;
    try {
      next = await this.#load();
    } catch (e) {
      this.#rejected = true;
      throw e;
    }
    const events = diffResources(this.#last, next, this.#revision + 1);
    const recovered = this.#rejected;
    this.#rejected = false;
    if (events.length === 0) return recovered ? { revision: this.#revision, events } : undefined;
    this.#last = next;
    this.#revision++;
    return { revision: this.#revision, events };
  }

  async #load(): Promise<ResourceMap> {
    const result = await loadManifests(this.#paths);
    if (!result.ok) {
      const details = result.errors.map(formatManifestError);
      throw new SourceError(`manifests rejected: ${details.length} error(s)`, details);
    }
    return byKey(result.resources);
  }
}
