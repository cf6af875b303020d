/**
 * @homelab-mcp/server: the tools, the tier toolkits and layers, and the MCP adapter, for embedding the
 * same tools in another Effect program without stdio.
 */
export * as BuildInfo from "./BuildInfo.js"
export * as Capabilities from "./Capabilities.js"
export * as Mcp from "./Mcp.js"
export * as Settings from "./Settings.js"
export { StdioTransport } from "./StdioTransport.js"
export * as Tiers from "./tiers.js"
export * as Toolkits from "./toolkits.js"
export { guest_restart } from "./tools/guest_restart.js"
export { guest_start } from "./tools/guest_start.js"
export { guest_stop } from "./tools/guest_stop.js"
export { pct_list } from "./tools/pct_list.js"
export { qm_list } from "./tools/qm_list.js"
export { query_audit } from "./tools/query_audit.js"
