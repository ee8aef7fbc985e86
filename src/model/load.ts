// The file-system edge of manifest loading: files and directories (recursively) in, one set
// out. Everything after reading is manifests.ts.
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { ManifestError } from "./errors.ts";
import {
  type Collected,
  collectText,
  finishSet,
  type LoadOptions,
  type LoadResult,
  newCollected,
} from "./manifests.ts";

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

function readError(file: string, error: unknown): ManifestError {
  const code = (error as NodeJS.ErrnoException).code;
  const message =
    code === "ENOENT" ? "no such file or directory" : ((error as Error).message ?? String(error));
  return { code: "manifest.read", file, document: 0, path: "", message };
}

/**
 * Manifest files under `path`, in name order. A file named directly is read whatever its
 * extension; inside directories only .yaml, .yml and .json count, and dot-entries are skipped.
 */
async function manifestFiles(
  path: string,
  seenDirs: Set<string>,
  out: Collected,
): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const real = await realpath(path);
  if (seenDirs.has(real)) return []; // a symlink loop, or the same directory given twice
  seenDirs.add(real);
  const names = (await readdir(path)).filter((n) => !n.startsWith(".")).sort();
  const files: string[] = [];
  for (const name of names) {
    const child = join(path, name);
    try {
      const childInfo = await stat(child);
      if (childInfo.isDirectory()) files.push(...(await manifestFiles(child, seenDirs, out)));
      else if (MANIFEST_EXTENSIONS.has(extname(name).toLowerCase())) files.push(child);
    } catch (error) {
      out.errors.push(readError(child, error));
    }
  }
  return files;
}

/** Loads files and directories as one set: all valid, or every error found. */
export async function loadManifests(
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  const out = newCollected(options);
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  for (const path of paths) {
    let files: string[];
    try {
      files = await manifestFiles(path, seenDirs, out);
    } catch (error) {
      out.errors.push(readError(path, error));
      continue;
    }
    for (const file of files) {
      try {
        const real = await realpath(file);
        if (seenFiles.has(real)) continue;
        seenFiles.add(real);
        collectText(await readFile(file, "utf8"), file, out);
      } catch (error) {
        out.errors.push(readError(file, error));
      }
    }
  }
  return finishSet(out);
}
