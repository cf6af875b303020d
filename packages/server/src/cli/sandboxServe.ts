/**
 * `serve --sandbox`: starts an in-process sandbox node (loaded lazily: the sandbox and its SSH server
 * never load otherwise) and serves against it. stdout stays pure JSON-RPC; the default tier is
 * companion; root still needs `MCP_HOST_ROOT_ENABLED`, which the sandbox never sets.
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as SandboxOptions from "./SandboxOptions.js"

/** Runs `program` against a sandbox started for the scope, with the sandbox's environment layered over the process's. */
export const withSandbox = <E>(
  flags: SandboxOptions.SandboxFlags,
  program: (provider: ConfigProvider.ConfigProvider) => Effect.Effect<void, E, Scope.Scope>,
  onBadFlag: (message: string) => E
): Effect.Effect<void, E, Scope.Scope> =>
  Effect.gen(function* () {
    const envTier = process.env["MCP_TIER"]
    const parsed = SandboxOptions.parse(
      { ...flags, ...(flags.tier === undefined && envTier !== undefined && envTier !== "" ? { tier: envTier } : {}) },
      "companion"
    )
    if (typeof parsed === "string") return yield* Effect.fail(onBadFlag(parsed))
    const Sandbox = yield* Effect.promise(() => import("@homelab-mcp/sandbox/Sandbox"))
    const handle = yield* Sandbox.make(parsed.options)
    process.stderr.write(
      `homelab-mcp: sandbox node ${handle.api.node} at ${handle.api.baseUrl} (simulated; its secrets are fake), token ${handle.token.id}\n`
    )
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
    Object.assign(env, handle.env(parsed.tier), { MCP_TIER: parsed.tier })
    return yield* program(ConfigProvider.fromMap(new Map(Object.entries(env))))
  })
