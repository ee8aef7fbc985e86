// The CNI plugin's process entry (bin/microseg-cni.js runs it; `npm run build:cni` makes it the
// single executable's main, which runs as CommonJS: no top-level await). main() reports every
// failure itself, as the spec's error object and exit status.
import { main } from "./plugin.ts";

void main();
