// Public face of the API server: start one over a Datastore; the error catalogue and the
// served group versions for clients and docs.

export { APPLY_PATH } from "./apply.ts";
export { API_ERRORS, type ApiErrorCode, type Status, type StatusCause } from "./errors.ts";
export { GROUP_VERSIONS } from "./paths.ts";
export {
  buildServer,
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_PORT,
  type RunningServer,
  ServerConfigError,
  type ServerOptions,
  startServer,
} from "./server.ts";
