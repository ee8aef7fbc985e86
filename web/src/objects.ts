// What the server's objects look like to the UI: no DOM here, so pure modules and node tests
// can use it.

/** A stored object as the server returns it (the model's Resource with metadata). */
export interface ApiObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly resourceVersion?: string;
    readonly ownerReferences?: readonly { readonly kind: string; readonly name: string }[];
  };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
}
