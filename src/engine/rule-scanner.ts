// Active policies to dataplane policies: rules by address, and a reference count per set so a
// set lives exactly while some active policy's rule uses it.
import type { Policy } from "../policy/index.ts";
import type { SelectorAst } from "../selector/index.ts";
import { samePolicy } from "./equality.ts";
import { scanPolicy } from "./rules.ts";
import type { DpPolicy, PolicyId, SetId, SetSpec } from "./types.ts";

export interface SetUseListener {
  /** `selector`: the parsed form of `spec.selector` when the policy had it (saves a parse). */
  onSetActive(spec: SetSpec, selector: SelectorAst | undefined): void;
  onSetInactive(id: SetId): void;
}

export interface PolicyListener {
  onPolicyUpdate(id: PolicyId, policy: DpPolicy | undefined): void;
}

export class RuleScanner {
  readonly #active = new Map<
    PolicyId,
    { readonly policy: DpPolicy; readonly sets: readonly SetId[] }
  >();
  readonly #setUsers = new Map<SetId, number>();

  constructor(
    private readonly sets: SetUseListener,
    private readonly output: PolicyListener,
  ) {}

  isActive(id: PolicyId): boolean {
    return this.#active.has(id);
  }

  /** Activates or updates a policy; an update equal to what is active costs nothing downstream. */
  activate(id: PolicyId, policy: Policy): void {
    const scanned = scanPolicy(policy);
    const before = this.#active.get(id);
    if (before && samePolicy(before.policy, scanned.policy)) return;
    const sets = [...scanned.sets.keys()];
    // New sets first, so the policy never refers to a set the dataplane lacks.
    for (const set of sets) {
      const spec = scanned.sets.get(set)!;
      this.acquire(spec, scanned.selectors.get(spec.selector)?.ast);
    }
    this.#active.set(id, { policy: scanned.policy, sets });
    this.output.onPolicyUpdate(id, scanned.policy);
    for (const set of before?.sets ?? []) this.release(set);
  }

  deactivate(id: PolicyId): void {
    const before = this.#active.get(id);
    if (!before) return;
    this.#active.delete(id);
    this.output.onPolicyUpdate(id, undefined);
    for (const set of before.sets) this.release(set);
  }

  private acquire(spec: SetSpec, selector: SelectorAst | undefined): void {
    const n = (this.#setUsers.get(spec.id) ?? 0) + 1;
    this.#setUsers.set(spec.id, n);
    if (n === 1) this.sets.onSetActive(spec, selector);
  }

  private release(id: SetId): void {
    const n = this.#setUsers.get(id)! - 1;
    if (n > 0) this.#setUsers.set(id, n);
    else {
      this.#setUsers.delete(id);
      this.sets.onSetInactive(id);
    }
  }
}
