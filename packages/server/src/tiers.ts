/**
 * The tier-shaped composition root (architecture.md, style §3.1): each tier is one closed Layer built
 * from `layerConfig` of exactly its capabilities, paired with its toolkit. The tier comes from the pure
 * `Tier.resolve` (Settings); nothing raises it later. At observe and operate no SSH client, key, backup
 * writer or history repository is built.
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type { ApiError, AuditUnavailable, SshTrustUnavailable } from "@homelab-mcp/core/Errors"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import type * as Tier from "@homelab-mcp/core/Tier"
import type * as Tool from "@homelab-mcp/core/Tool"
import { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { ServerInfo } from "@homelab-mcp/core/capabilities/ServerInfo"
import * as AuditLogJsonl from "@homelab-mcp/transport/AuditLogJsonl"
import * as CensusStoreFs from "@homelab-mcp/transport/CensusStoreFs"
import * as PveApiLive from "@homelab-mcp/transport/PveApi"
import * as TasksLive from "@homelab-mcp/transport/Tasks"
import { version } from "./BuildInfo.js"
import type { CompanionLayerCaps, ObserveLayerCaps, OperateLayerCaps, RequestCaps } from "./Capabilities.js"
import * as Mcp from "./Mcp.js"
import type { Settings } from "./Settings.js"
import * as McpShell from "./McpShell.js"
import { loadTools, observeTools, operateTools } from "./toolkits.js"

/** Why a tier could not be built at startup. */
export type StartupError = ApiError | AuditUnavailable | SshTrustUnavailable | ConfigError.ConfigError

/** What the audit log stamps on every record. */
export interface TierIdentity {
  readonly tier: Tier.Tier
}

/** `ServerInfo` from the active tier, `SSH_HOST` (if set) or the API host, and the build version. */
const serverInfoLayer = (tier: Tier.Tier): Layer.Layer<ServerInfo, ConfigError.ConfigError, PveApi> =>
  Layer.effect(
    ServerInfo,
    Effect.gen(function* () {
      const api = yield* PveApi
      const host = (yield* ConfigVars.optionalString("SSH_HOST")) ?? api.host
      return { tier, host: host === "" ? null : host, version }
    })
  )

/** The observe tier: PVE API, audit log, census store, server identity; closed (no requirements). */
export const ObserveLive = (identity: TierIdentity): Layer.Layer<ObserveLayerCaps, StartupError> =>
  Layer.mergeAll(
    AuditLogJsonl.layerConfig({ tier: identity.tier, rootTier: identity.tier === "root", serverVersion: version }),
    CensusStoreFs.layerConfig,
    serverInfoLayer(identity.tier)
  ).pipe(Layer.provideMerge(PveApiLive.layerConfig))

/** The operate tier: observe plus task following for power actions. */
export const OperateLive = (identity: TierIdentity): Layer.Layer<OperateLayerCaps, StartupError> =>
  TasksLive.layerConfig.pipe(Layer.provideMerge(ObserveLive(identity)))

/** A running MCP server for the tier and what the startup banner names. */
export interface Served {
  readonly server: Server
  readonly tier: Tier.Tier
  readonly node: string
  readonly host: string
  readonly toolCount: number
  readonly notes: ReadonlyArray<string>
}

/** The tier's `tools/call` handler for an existing SDK server (the stdio fast path), and the banner facts. */
export interface Prepared {
  readonly call: McpShell.CallHandler
  readonly tier: Tier.Tier
  readonly node: string
  readonly host: string
  readonly toolCount: number
  readonly notes: ReadonlyArray<string>
}

const prepareWith = <Caps, E>(
  tools: ReadonlyArray<Tool.AnyTool<Caps | RequestCaps>>,
  layer: Layer.Layer<Caps, E>,
  options: Mcp.Options,
  notes: ReadonlyArray<string>,
  server: Server
): Effect.Effect<Prepared, E, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Layer.toRuntime(layer)
    const api = Context.get(runtime.context as unknown as Context.Context<PveApi>, PveApi)
    const call = Mcp.callHandler<Caps | RequestCaps>(
      tools,
      options,
      runtime as unknown as Runtime.Runtime<Exclude<Caps | RequestCaps, RequestCaps>>,
      server
    )
    return { call, tier: options.tier, node: api.node, host: api.host, toolCount: tools.length, notes }
  })

const optionsOf = (settings: Settings): Mcp.Options => ({
  name: "homelab-mcp",
  version,
  tier: settings.tier,
  elicit: settings.elicit,
  elicitTimeoutMs: settings.elicitTimeoutMs
})

/**
 * Builds the tier's closed layer for the scope and returns the `tools/call` handler of exactly the
 * tier's toolkit on `server` (whose `tools/list` the caller answers with the same toolkit's descriptors).
 * The companion toolkit and layer load lazily.
 */
export const prepare = (settings: Settings, server: Server): Effect.Effect<Prepared, StartupError, Scope.Scope> => {
  const options = optionsOf(settings)
  const identity = { tier: settings.tier }
  switch (settings.tier) {
    case "observe":
      return prepareWith<ObserveLayerCaps, StartupError>(observeTools, ObserveLive(identity), options, settings.notes, server)
    case "operate":
      return prepareWith<OperateLayerCaps, StartupError>(operateTools, OperateLive(identity), options, settings.notes, server)
    case "companion":
    case "root":
      return Effect.gen(function* () {
        const [{ CompanionLive }, toolkit] = yield* Effect.promise(() =>
          Promise.all([import("./CompanionLive.js"), import("./CompanionToolkit.js")])
        )
        const tools = settings.tier === "root" ? toolkit.rootTools : toolkit.companionTools
        const notes =
          settings.tier === "root"
            ? [...settings.notes, "the root tools (host shell and files) are not part of this build; serving the companion tools"]
            : settings.notes
        return yield* prepareWith<CompanionLayerCaps, StartupError>(tools, CompanionLive(identity), options, notes, server)
      })
  }
}

/** Builds the tier's closed layer for the scope and an MCP server registering exactly the tier's tools. */
export const serve = (settings: Settings): Effect.Effect<Served, StartupError, Scope.Scope> =>
  Effect.gen(function* () {
    const server = McpShell.createServer(optionsOf(settings))
    const tools = yield* Effect.promise(() => loadTools(settings.tier))
    const list = Mcp.descriptors(tools)
    const prepared = yield* prepare(settings, server)
    McpShell.install(server, () => list, prepared.call)
    return { server, tier: prepared.tier, node: prepared.node, host: prepared.host, toolCount: prepared.toolCount, notes: prepared.notes }
  })
