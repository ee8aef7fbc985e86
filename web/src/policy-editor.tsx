// A policy's YAML, editable: save replaces the object through the API (its resourceVersion
// guards against a lost update); a refusal's causes are shown at their lines. Preview asks the
// server what the change would newly allow or deny (`POST /api/v1/simulate`).
import { useMemo, useState } from "preact/hooks";
import { parseDocument, stringify } from "yaml";
import { ApiFailure, type ApiObject, replace, type StatusCause, simulate } from "./api.ts";
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
  return causes.map((c) => ({
    ...(c.field ? { field: c.field, line: lineOfField(text, c.field) } : {}),
    message: c.message ?? c.reason ?? message,
  }));
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
  const [preview, setPreview] = useState<string>();
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
      setPreview(JSON.stringify(await simulate([o]), null, 2));
    } catch (e) {
      const f = e as ApiFailure;
      setPreview(
        f.status === 404
          ? "Preview needs POST /api/v1/simulate, which this server does not serve yet."
          : `Preview failed: ${f.message}`,
      );
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
      {preview && (
        <pre class="panel" data-testid="preview">
          {preview}
        </pre>
      )}
    </section>
  );
}
