// The status the API server shows on staged policies when they are read: how much observed
// traffic the staged program would deny (from the flow store). Never written by the server into
// the datastore (no revision churn); a status in a manifest is accepted and not enforced.
import { z } from "zod";

export const StagedPolicyStatusSchema = z.strictObject({
  wouldDeny: z
    .strictObject({
      /** Packets logged (denied or allowed today) that the staged program would deny. */
      flowLogs: z.number().int().nonnegative(),
      /** Flow records with at least one such packet. */
      records: z.number().int().nonnegative(),
      /** The latest such packet (RFC 3339). */
      lastSeen: z.string().optional(),
    })
    .optional(),
});

export type StagedPolicyStatus = z.infer<typeof StagedPolicyStatusSchema>;
