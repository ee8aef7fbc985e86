// One error type for the whole layer. Codes name the kernel's answers (as errno names) so the
// in-memory nftables and the real nft report the same failure the same way.

export type NftErrorCode =
  /** Refused by validation before reaching nft. */
  | "invalid"
  | "ENOENT"
  | "EEXIST"
  | "EBUSY"
  | "EOPNOTSUPP"
  | "ELOOP"
  /** nft refused the script for another reason (syntax, datatype mismatch, ...). */
  | "EINVAL"
  /** libnftables could not be used (not installed, no such netns) or did not answer in time. */
  | "exec";

export class NftError extends Error {
  override readonly name = "NftError";
  constructor(
    readonly code: NftErrorCode,
    message: string,
    /** nft's error text (what the nft command would print on stderr), when nft ran. */
    readonly stderr = "",
  ) {
    super(message);
  }
}

const errnoByMessage: [RegExp, NftErrorCode][] = [
  [/No such file or directory/, "ENOENT"],
  [/File exists|overlaps with an existing one/, "EEXIST"],
  [/Device or resource busy/, "EBUSY"],
  [/Operation not supported/, "EOPNOTSUPP"],
  [/Too many levels of symbolic links/, "ELOOP"],
];

/** Classifies nft's stderr by the first kernel error it names. */
export function codeFromStderr(stderr: string): NftErrorCode {
  for (const [re, code] of errnoByMessage) if (re.test(stderr)) return code;
  return "EINVAL";
}
