// Public face of the API client: the typed client, its options and its errors.
export {
  type AlertsQuery,
  ApiClient,
  type AppliedObject,
  type ApplySetResult,
  type FlowsQuery,
} from "./client.ts";
export { ApiError, type StatusCause } from "./errors.ts";
export type { EventFollow, EventListener } from "./events.ts";
export {
  collectionPath,
  kindInfo,
  objectPath,
  UnknownKindError,
  WATCH_ALL_PATH,
} from "./paths.ts";
export type { ClientOptions } from "./transport.ts";
export { type ApiWatchOptions, decodeWatchLine } from "./watch.ts";
