// `microseg up`: the server, the lab and its agents composed on one machine.
export {
  EXAMPLES_DIR,
  labUnavailable,
  type Running,
  type UpOptions,
  up,
  waitEnforced,
} from "./up.ts";
