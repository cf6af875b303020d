/**
 * @homelab-mcp/sandbox: a simulated Proxmox VE 9 node (HTTPS API + SSH over one in-memory state) for
 * tests, demos and benchmarks. Start it with `Sandbox.make` / `Sandbox.layer` / `Sandbox.layerTest`;
 * the CLI entry is `@homelab-mcp/sandbox/cli/main` (`runSandboxCli`, `sandboxCommand`).
 */
export * as Sandbox from "./Sandbox.js"
export * as LabState from "./state/LabState.js"
export * as Invariants from "./state/Invariants.js"
export * as Faults from "./faults/Faults.js"
export * as ApiCore from "./api/ApiCore.js"
export * as Validator from "./api/Validator.js"
export * as ControlServer from "./api/ControlServer.js"
export * as Lab from "./lab/Lab.js"
export * as Certificates from "./tls/Certificates.js"
