// Public face of the API client: the typed client, its options and its errors.
export { ApiClient, type AppliedObject, type ApplySetResult } from "./client.ts";
export { ApiError, type StatusCause } from "./errors.ts";
export { collectionPath, kindInfo, objectPath, UnknownKindError } from "./paths.ts";
export type { ClientOptions } from "./transport.ts";
export type { ApiWatchOptions } from "./watch.ts";
