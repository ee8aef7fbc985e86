// Discovery as kubectl reads it: /api (APIVersions), /apis (APIGroupList), one APIResourceList
// per group version, /version, and an empty OpenAPI v2 document so kubectl's client-side
// validation finds no schema and lets the server validate (no --validate=false needed).
// Aggregated discovery (kubectl >= 1.26 asks for it first) is answered with the legacy shapes
// and Content-Type application/json, which kubectl takes as "not supported" and falls back on.
import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.ts";
import { CORE, findGroupVersion, GROUP_VERSIONS, type GroupVersion } from "./paths.ts";

/** Every kind takes every verb; deletecollection is not served. */
const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

export const SERVER_VERSION = {
  major: "0",
  minor: "1",
  gitVersion: "v0.1.0-microseg",
  gitCommit: "",
  gitTreeState: "clean",
  buildDate: "",
  goVersion: "",
  compiler: "node",
  platform: `${process.platform}/${process.arch}`,
};

export function apiResourceList(gv: GroupVersion) {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: gv.groupVersion,
    resources: gv.kinds.map((k) => ({
      name: k.plural,
      singularName: k.kind.toLowerCase(),
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      // Short names belong to the primary group only: kubectl warns when one is ambiguous.
      ...(k.shortNames.length > 0 && !gv.alias ? { shortNames: [...k.shortNames] } : {}),
    })),
  };
}

function apiGroup(name: string) {
  const versions = GROUP_VERSIONS.filter((gv) => gv.group === name).map((gv) => ({
    groupVersion: gv.groupVersion,
    version: gv.version,
  }));
  return { kind: "APIGroup", apiVersion: "v1", name, versions, preferredVersion: versions[0] };
}

export function apiGroupList() {
  const names = [...new Set(GROUP_VERSIONS.map((gv) => gv.group).filter((g) => g !== ""))];
  return { kind: "APIGroupList", apiVersion: "v1", groups: names.map(apiGroup) };
}

/**
 * A protobuf openapi_v2.Document with only `swagger: "2.0"` (field 1) and `info.title` (field
 * 2, its field 1): no definitions, so kubectl validates nothing on the client side and reads
 * no path as supporting server-side field validation; the server validates every write.
 */
function emptyOpenApiProtobuf(): Buffer {
  const field = (tag: number, bytes: Buffer) =>
    Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
  const info = field(0x0a, Buffer.from("microseg"));
  return Buffer.concat([field(0x0a, Buffer.from("2.0")), field(0x12, info)]);
}

const OPENAPI_V2_JSON = { swagger: "2.0", info: { title: "microseg", version: "v1" }, paths: {} };
// Asked for as `...spec.v2@v1.0+protobuf`; answered, as kube-openapi does, with a "." for the
// "@" that Go's mime parser (and so kubectl) rejects in a Content-Type.
const OPENAPI_PROTOBUF_RETURNED = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

export function registerDiscovery(app: FastifyInstance): void {
  app.get("/version", async () => SERVER_VERSION);
  app.get("/api", async () => ({ kind: "APIVersions", versions: [CORE.version] }));
  app.get(`/api/${CORE.version}`, async () => apiResourceList(CORE));
  app.get("/apis", async () => apiGroupList());
  app.get<{ Params: { group: string } }>("/apis/:group", async (req) => {
    const group = apiGroup(req.params.group);
    if (group.versions.length === 0) {
      throw new ApiError("NotFound", `the server could not find group ${req.params.group}`);
    }
    return group;
  });
  app.get<{ Params: { group: string; version: string } }>("/apis/:group/:version", async (req) => {
    const gv = findGroupVersion(req.params.group, req.params.version);
    if (!gv) {
      throw new ApiError(
        "NotFound",
        `the server could not find ${req.params.group}/${req.params.version}`,
      );
    }
    return apiResourceList(gv);
  });
  app.get("/openapi/v2", async (req, reply) => {
    if ((req.headers.accept ?? "").includes("protobuf")) {
      return reply.header("content-type", OPENAPI_PROTOBUF_RETURNED).send(emptyOpenApiProtobuf());
    }
    return OPENAPI_V2_JSON;
  });
}
