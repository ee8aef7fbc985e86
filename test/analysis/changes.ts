// A change to the segmented-apps example that the simulate tests judge: only orderInput's
// frontend may reach orderInput's components now (creditCheck -> geoConfirm is cut).
export const FRONTEND_ONLY = {
  apiVersion: "microseg.io/v1",
  kind: "GlobalNetworkPolicy",
  metadata: { name: "silo-orderinput" },
  spec: {
    selector: 'app == "orderInput"',
    ingress: [
      { action: "Allow", source: { selector: 'app == "orderInput" && component == "frontend"' } },
    ],
    egress: [{ action: "Allow", destination: { selector: 'app == "orderInput"' } }],
  },
};
