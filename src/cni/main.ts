// The CNI plugin's process entry (bin/microseg-cni.js runs it).
import { main } from "./plugin.ts";

await main();
