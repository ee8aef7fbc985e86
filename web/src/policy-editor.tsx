// A policy's YAML, editable: save replaces the object through the API (its resourceVersion
// guards against a lost update); a refusal's causes are shown at their lines. Preview asks the
// server what the change would newly allow or deny among recorded flows and current workloads
// (`POST /api/v1/simulate`, the same simulate as the CLI's).
import { useMemo, useState } from "preact/hooks";
import { parseDocument, stringify } from "yaml";
import {
  ApiFailure,
  type ApiObject,
  type LiveSimulation,
  replace,
  type StatusCause,
  simulate,
} from "./api.ts";
import { lineOfField } from "./yaml-fields.ts";

interface Problem {
  readonly line?: number;
  readonly field?: string;
  readonly message: string;
}

function editable(o: ApiObject): string {
  const { status: _status, ...rest } = o;
  return stringify(rest, { aliasDuplicateObjects: false });
}

function problemsOf(text: string, message: string, causes: readonly StatusCause[]): Problem[] {
  if (causes.length === 0) return [{ message }];
  return causes.map((c) => {
    // Simulate names the set's item (`items[0].spec.order`); the editor holds that one item.
    const field = c.field?.replace(/^items\[0\]\./, "");
    return {
      ...(field ? { field, line: lineOfField(text, field) } : {}),
      message: c.message ?? c.reason ?? message,
    };
  });
}

export function PolicyEditor({
  object,
  onClose,
  onSaved,
}: {
  object: ApiObject;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [text, setText] = useState(() => editable(object));
  const [problems, setProblems] = useState<Problem[]>([]);
  const [preview, setPreview] = useState<LiveSimulation | string>();
  const [busy, setBusy] = useState(false);
  const lines = useMemo(() => text.split("\n").length, [text]);
  const bad = new Set(problems.map((p) => p.line).filter((l) => l !== undefined));

  const parsed = (): ApiObject | undefined => {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) {
      setProblems(
        doc.errors.map((e) => ({ line: e.linePos?.[0]?.line, message: `YAML: ${e.message}` })),
      );
      return undefined;
    }
    return doc.toJS() as ApiObject;
  };
  const save = async () => {
    const o = parsed();
    if (!o) return;
    setBusy(true);
    try {
      await replace(o);
      setProblems([]);
      onSaved();
    } catch (e) {
      const f = e as ApiFailure;
      setProblems(problemsOf(text, f.message, f instanceof ApiFailure ? f.causes : []));
    } finally {
      setBusy(false);
    }
  };
  const runPreview = async () => {
    const o = parsed();
    if (!o) return;
    try {
      setPreview(await simulate([o]));
      setProblems([]);
    } catch (e) {
      const f = e as ApiFailure;
      if (f.status === 422) setProblems(problemsOf(text, f.message, f.causes));
      setPreview(`Preview failed: ${f.message}`);
    }
  };
  const name = `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata.name}`;
  return (
    <section class="panel" aria-label={`Edit ${name}`} data-testid="editor">
      <h3>{name}</h3>
      <div class="editor">
        <pre aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} class={bad.has(i + 1) ? "bad" : ""}>
              {i + 1}
            </div>
          ))}
        </pre>
        <textarea
          aria-label="Policy YAML"
          spellcheck={false}
          rows={Math.min(lines + 1, 40)}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </div>
      {problems.length > 0 && (
        <ul class="errors" role="alert" data-testid="problems">
          {problems.map((p, i) => (
            <li key={i}>
              {p.line !== undefined ? `line ${p.line}: ` : ""}
              {p.field && <code>{p.field}</code>} {p.message}
            </li>
          ))}
        </ul>
      )}
      <div class="toolbar">
        <button type="button" class="primary" disabled={busy} onClick={save}>
          Save
        </button>
        <button type="button" onClick={runPreview}>
          Preview change
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {preview !== undefined && <Preview result={preview} />}
    </section>
  );
}

type FlowChange = LiveSimulation["flows"]["newlyDenied"][number];

function Changes({
  title,
  items,
}: {
  title: string;
  items: readonly Omit<FlowChange, "recorded" | "records" | "connections">[];
}) {
  if (items.length === 0) return null;
  return (
    <>
      <h3>
        {title} ({items.length})
      </h3>
      <ul>
        {items.slice(0, 200).map((c) => (
          <li key={`${c.from}|${c.to}|${c.port}/${c.protocol}`}>
            {c.from} → {c.to} {c.port}/{c.protocol}
          </li>
        ))}
      </ul>
    </>
  );
}

/** What the change would newly allow or deny: recorded flows, then matrix cells. */
function Preview({ result }: { result: LiveSimulation | string }) {
  if (typeof result === "string")
    return (
      <p class="errors" data-testid="preview">
        {result}
      </p>
    );
  const { flows, cells } = result;
  const none =
    flows.newlyDenied.length +
      flows.newlyAllowed.length +
      cells.newlyDenied.length +
      cells.newlyAllowed.length ===
    0;
  return (
    <div class="panel" data-testid="preview">
      <p class="muted">
        Judged on {result.records} flow records since {new Date(result.since).toLocaleString()} and
        the matrix of current workloads: {flows.unchanged} recorded flows unchanged.
      </p>
      {none && <p>The change alters no recorded flow and no matrix cell.</p>}
      <Changes title="Recorded flows newly denied" items={flows.newlyDenied} />
      <Changes title="Recorded flows newly allowed" items={flows.newlyAllowed} />
      <Changes title="Matrix cells newly denied" items={cells.newlyDenied} />
      <Changes title="Matrix cells newly allowed" items={cells.newlyAllowed} />
    </div>
  );
}
