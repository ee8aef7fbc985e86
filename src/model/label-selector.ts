// Kubernetes metav1.LabelSelector, validated as the API server does
// (ValidateLabelSelectorRequirement): In/NotIn need values, Exists/DoesNotExist take none.
import { z } from "zod";
import { LabelKeySchema, LabelMapSchema } from "./fields.ts";
import { checkLabelValue } from "./names.ts";

const LabelSelectorRequirementSchema = z
  .strictObject({
    key: LabelKeySchema,
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(z.string()).optional(),
  })
  .superRefine((req, ctx) => {
    const values = req.values ?? [];
    const needsValues = req.operator === "In" || req.operator === "NotIn";
    if (needsValues && values.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["values"],
        message: `must be non-empty when operator is ${req.operator}`,
      });
    }
    if (!needsValues && values.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["values"],
        message: `must be empty when operator is ${req.operator}`,
      });
    }
    values.forEach((value, i) => {
      const problem = checkLabelValue(value);
      if (problem) ctx.addIssue({ code: "custom", path: ["values", i], message: problem });
    });
  });

export const labelSelectorShape = {
  matchLabels: LabelMapSchema.optional(),
  matchExpressions: z.array(LabelSelectorRequirementSchema).optional(),
};

/** `{}` selects everything; an absent selector is the policy layer's business. */
export const LabelSelectorSchema = z.strictObject(labelSelectorShape);

export type LabelSelector = z.infer<typeof LabelSelectorSchema>;
