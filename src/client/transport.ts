// One HTTP exchange with the API server over node:http or node:https (bearer token, private CA).
// Plain responses are read whole; a watch keeps the response open and reads it as it streams.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { connectionError, errorFromResponse } from "./errors.ts";

export interface ClientOptions {
  /** `http://127.0.0.1:7080`, `https://host:7443/prefix`. */
  readonly server: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** PEM certificate(s) to trust for https instead of the system's. */
  readonly ca?: string | Buffer;
  /** Give up on a plain request after this long (ms); watches have no limit. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface HttpCall {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Replaces `Accept: application/json`, adds the rest. */
  readonly headers?: Readonly<Record<string, string>>;
}

export class Transport {
  readonly #base: URL;
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#base = new URL(options.server);
    if (this.#base.protocol !== "http:" && this.#base.protocol !== "https:") {
      throw new TypeError(`server ${options.server}: only http:// and https:// are supported`);
    }
    this.#options = options;
  }

  /** `host:port` as error messages name the server. */
  get server(): string {
    return this.#base.host;
  }

  #url(call: HttpCall): URL {
    const prefix = this.#base.pathname.replace(/\/+$/, "");
    const url = new URL(`${prefix}${call.path}`, this.#base);
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, v);
    }
    return url;
  }

  #open(call: HttpCall, timeoutMs: number | undefined): Promise<IncomingMessage> {
    const url = this.#url(call);
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers: Record<string, string> = { accept: "application/json", ...call.headers };
    if (body !== undefined) {
      headers["content-type"] = call.contentType ?? "application/json";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    const options: RequestOptions & { ca?: string | Buffer } = { method: call.method, headers };
    if (this.#options.ca !== undefined) options.ca = this.#options.ca;
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, options, resolve);
      req.on("error", (error) => reject(connectionError(this.server, error)));
      if (timeoutMs !== undefined) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      }
      req.end(body);
    });
  }

  /** The parsed JSON body of a 2xx answer; any other answer throws its typed error. */
  async json(call: HttpCall): Promise<unknown> {
    const timeout = this.#options.timeoutMs ?? 30_000;
    const res = await this.#open(call, timeout);
    const text = await readAll(res).catch((error: Error) => {
      throw connectionError(this.server, error);
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, text);
    try {
      return text === "" ? undefined : JSON.parse(text);
    } catch {
      throw errorFromResponse(502, `${call.method} ${call.path}: the answer is not JSON`);
    }
  }

  /**
   * A long-lived response (a watch): resolves once the server answered 2xx, with the open body.
   * An error status is read whole and thrown as its typed error.
   */
  async stream(call: HttpCall): Promise<IncomingMessage> {
    const res = await this.#open(call, undefined);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status <= 299) return res;
    const text = await readAll(res).catch(() => "");
    throw errorFromResponse(status, text);
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
    res.on("aborted", () => reject(new Error("the response was cut off")));
  });
}
