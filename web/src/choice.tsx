// A labelled drop-down, the toolbars' one control for picking among values.
export function Choice({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  /** Values, or [value, shown text] pairs. */
  options: readonly (string | readonly [string, string])[];
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map((o) => {
          const [v, text] = typeof o === "string" ? [o, o] : o;
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}
