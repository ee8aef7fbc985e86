// Kubernetes' name and label rules (k8s.io/apimachinery/pkg/util/validation), as plain checks
// that return the problem or undefined, so schemas and tests share one wording.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MAX = 63;
const DNS_SUBDOMAIN_MAX = 253;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_MAX = 63;
const PORT_NAME = /^[-a-z0-9]+$/;
const PORT_NAME_MAX = 15;

/** RFC 1123 label: namespaces, tiers, the parts of a subdomain. */
export function checkDnsLabel(value: string): string | undefined {
  if (value.length > DNS_LABEL_MAX || !DNS_LABEL.test(value)) {
    return "must be a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit";
  }
  return undefined;
}

/** RFC 1123 subdomain: dot-separated labels, at most 253 characters (most object names). */
export function checkDnsSubdomain(value: string): string | undefined {
  if (value.length > DNS_SUBDOMAIN_MAX || !value.split(".").every((l) => DNS_LABEL.test(l))) {
    return "must be a DNS subdomain: at most 253 lowercase letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit";
  }
  return undefined;
}

/** A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain. */
export function checkQualifiedName(value: string): string | undefined {
  const slash = value.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : value.slice(0, slash);
  const name = slash < 0 ? value : value.slice(slash + 1);
  if (prefix !== undefined && (prefix === "" || checkDnsSubdomain(prefix) !== undefined)) {
    return "must be a label key: an optional DNS subdomain prefix and '/', then a name";
  }
  if (name.length > QUALIFIED_NAME_MAX || !QUALIFIED_NAME.test(name)) {
    return "must be a label key: the name part at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  }
  return undefined;
}

export function checkLabelValue(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > QUALIFIED_NAME_MAX || !QUALIFIED_NAME.test(value)) {
    return "must be a label value: empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  }
  return undefined;
}

/** IANA_SVC_NAME, the rule for named container ports and every reference to one. */
export function isPortName(value: string): boolean {
  return (
    value.length <= PORT_NAME_MAX &&
    PORT_NAME.test(value) &&
    /[a-z]/.test(value) &&
    !value.startsWith("-") &&
    !value.endsWith("-") &&
    !value.includes("--")
  );
}

export const PORT_NAME_RULE =
  "must be a port name: at most 15 lowercase letters, digits or '-', with at least one letter, no leading, trailing or double '-'";
