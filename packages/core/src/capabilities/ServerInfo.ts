/**
 * Who this server is: the active tier, the node's host as the operator addressed it, and the build
 * version. Exists at every tier; the server's composition root provides it (`layer`).
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type { Tier } from "../Tier.js"

/** The server's identity, fixed for the life of the process. */
export class ServerInfo extends Context.Tag("@homelab-mcp/core/ServerInfo")<ServerInfo, ServerInfo.Service>() {}

export declare namespace ServerInfo {
  /** The identity. */
  export interface Service {
    /** The active tier (after resolving `MCP_TIER` and `MCP_HOST_ROOT_ENABLED`). */
    readonly tier: Tier
    /** `SSH_HOST` if set, else the host of `PVE_API_BASE_URL` (census-health.md §1.4); `null` when neither is usable. */
    readonly host: string | null
    /** The server's version (package version, optionally `+<git sha>`). */
    readonly version: string
  }
}

/** Provides a fixed identity. */
export const layer = (info: ServerInfo.Service): Layer.Layer<ServerInfo> => Layer.succeed(ServerInfo, info)
