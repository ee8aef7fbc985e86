// Debian's libnftables1 through koffi: the library nft itself is built on, in this process. One
// context parses a whole script and commits it as one netlink batch, as `nft -f` does, and
// keeps its cache between runs, so no process is started per transaction. The calls block the
// calling thread; the session (session.ts) makes them on a worker thread of their own.
//
// Scripts are read from a memory file (memfd) rather than a buffer: for a buffer, libnftables
// 1.0.6 prints the first line of the script under a kernel error instead of the command at
// fault; read from a file, the error names the right line and command, as `nft -f` does.

import { closeSync, ftruncateSync, writeSync } from "node:fs";
import koffi from "koffi";

/** `NFT_CTX_OUTPUT_JSON` of libnftables' nftables.h: what `nft -j` sets. */
const OUTPUT_JSON = 1 << 4;
const MFD_CLOEXEC = 1;

export interface RunResult {
  /** 0 when the script was committed (or, in a dry run, would have been). */
  readonly rc: number;
  /** What nft would print on stdout (a listing). */
  readonly output: string;
  /** What nft would print on stderr: the error, with the offending command underlined. */
  readonly error: string;
}

type Ctx = unknown;

export class LibNftables {
  readonly #ctx: Ctx;
  readonly #runFile: (ctx: Ctx, path: string) => number;
  readonly #script: number;
  readonly #output: (ctx: Ctx) => string;
  readonly #error: (ctx: Ctx) => string;
  readonly #setDryRun: (ctx: Ctx, on: boolean) => void;
  readonly #getFlags: (ctx: Ctx) => number;
  readonly #setFlags: (ctx: Ctx, flags: number) => void;
  readonly #free: (ctx: Ctx) => void;
  #freed = false;

  /** Throws when libnftables1 is not installed. */
  constructor() {
    const lib = koffi.load("libnftables.so.1");
    const ctxNew = lib.func("void *nft_ctx_new(uint32_t flags)");
    this.#free = lib.func("void nft_ctx_free(void *ctx)");
    this.#runFile = lib.func("int nft_run_cmd_from_filename(void *ctx, const char *filename)");
    const memfdCreate = koffi
      .load("libc.so.6")
      .func("int memfd_create(const char *name, unsigned int flags)");
    this.#script = memfdCreate("nft-script", MFD_CLOEXEC);
    if (this.#script < 0) throw new Error(`memfd_create failed (errno ${koffi.errno()})`);
    this.#output = lib.func("const char *nft_ctx_get_output_buffer(void *ctx)");
    this.#error = lib.func("const char *nft_ctx_get_error_buffer(void *ctx)");
    this.#setDryRun = lib.func("void nft_ctx_set_dry_run(void *ctx, bool dry)");
    this.#getFlags = lib.func("unsigned int nft_ctx_output_get_flags(void *ctx)");
    this.#setFlags = lib.func("void nft_ctx_output_set_flags(void *ctx, unsigned int flags)");
    const buffer = {
      output: lib.func("int nft_ctx_buffer_output(void *ctx)"),
      error: lib.func("int nft_ctx_buffer_error(void *ctx)"),
    };
    this.#ctx = ctxNew(0);
    if (!this.#ctx) throw new Error("nft_ctx_new failed");
    if (buffer.output(this.#ctx) !== 0 || buffer.error(this.#ctx) !== 0) {
      this.#free(this.#ctx);
      throw new Error("libnftables: cannot buffer output");
    }
  }

  /** Runs a script as `nft -f` does (`dryRun`: as `nft -c -f`). */
  run(script: string, opts: { dryRun?: boolean; json?: boolean } = {}): RunResult {
    if (this.#freed) throw new Error("libnftables context already freed");
    const flags = this.#getFlags(this.#ctx);
    if (opts.json) this.#setFlags(this.#ctx, flags | OUTPUT_JSON);
    if (opts.dryRun) this.#setDryRun(this.#ctx, true);
    try {
      this.#write(script);
      const rc = this.#runFile(this.#ctx, `/proc/self/fd/${this.#script}`);
      // Both buffers are read after every run: reading one rewinds it for the next.
      return { rc, output: this.#output(this.#ctx), error: this.#error(this.#ctx) };
    } finally {
      if (opts.dryRun) this.#setDryRun(this.#ctx, false);
      if (opts.json) this.#setFlags(this.#ctx, flags);
    }
  }

  /** Replaces the memory file's content with the script. */
  #write(script: string): void {
    const bytes = Buffer.from(script);
    ftruncateSync(this.#script, 0);
    for (let done = 0; done < bytes.length; ) {
      done += writeSync(this.#script, bytes, done, bytes.length - done, done);
    }
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#free(this.#ctx);
    closeSync(this.#script);
  }
}
