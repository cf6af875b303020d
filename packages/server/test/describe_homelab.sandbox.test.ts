/**
 * describe_homelab and health_check at observe and operate against the sandbox over real HTTPS (pinned
 * TLS, the tier's privsep token): the default lab as the product sees it, and the sandbox event stream
 * proves `/apt/update` is never requested (lessons E2).
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ServerInfo from "@homelab-mcp/core/capabilities/ServerInfo"
import type { CensusDocument, Guest } from "@homelab-mcp/core/census/Document"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import * as CensusStoreFs from "@homelab-mcp/transport/CensusStoreFs"
import * as PveApiLive from "@homelab-mcp/transport/PveApi"
import * as DescribeHomelab from "../src/tools/describe_homelab.js"
import * as HealthCheck from "../src/tools/health_check.js"

const layersFor = (sb: Sandbox.SandboxHandle, tier: "observe" | "operate") =>
  Layer.mergeAll(
    PveApiLive.layer({ baseUrl: sb.api.baseUrl, tokenId: sb.tokens[tier].id, tokenSecret: sb.tokens[tier].secret, fingerprint: sb.api.tls.pin }),
    CensusStoreFs.layerTest(),
    ServerInfo.layer({ tier, host: "127.0.0.1", version: "test" })
  )

const guests = (doc: CensusDocument, s: "containers" | "vms") => doc.sections[s] as ReadonlyArray<Guest>

describe("describe_homelab and health_check against the sandbox (HTTPS)", () => {
  it.scopedLive(
    "at observe and operate: the default lab, drift seeded then compared, never /apt/update (E2)",
    () =>
      Effect.gen(function* () {
        const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
        for (const tier of ["observe", "operate"] as const) {
          const program = Effect.gen(function* () {
            const first = yield* DescribeHomelab.run({ depth: "status", saveSnapshot: true, compareToPrevious: true })
            // The seeded bcrypt hash sits in CT 100's description as `admin: $2y$…`; "admin" is not a built-in
            // secret name, so this run names it through MCP_REDACTION_EXTRA_KEYS (extends only).
            const second = yield* DescribeHomelab.run({ depth: "full", saveSnapshot: true, compareToPrevious: true }).pipe(
              Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MCP_REDACTION_EXTRA_KEYS", "admin"]])))
            )
            const health = yield* HealthCheck.run({ includePseudoFs: false })
            return { first, second, health }
          })
          const { first, second, health } = yield* program.pipe(Effect.provide(layersFor(sb, tier)))

          expect(first.errors).toEqual([])
          expect(first.tier).toBe(tier)
          expect(first.node).toBe(sb.api.node)
          expect(first.sections.node?.version).toBe("9.1.1")
          expect(first.sections.node?.cpu).toBe(16)
          expect(first.sections.node?.load).toHaveLength(3)
          expect(first.sections.storage?.map((s) => s.name)).toEqual(expect.arrayContaining(["backups", "local", "local-lvm", "tank"]))
          expect(first.sections.network?.bridges).toContainEqual(expect.objectContaining({ name: "vmbr0", ports: ["eno1"], vlanAware: true, cidr: "192.168.1.10/24" }))
          expect(first.sections.services).toMatchObject({ unavailableAtTier: "companion" })
          expect(first.sections.tailscale).toMatchObject({ unavailableAtTier: "companion" })
          const cts = guests(first, "containers")
          expect(cts.map((g) => g.vmid)).toEqual(expect.arrayContaining([100, 101, 102]))
          expect(cts.find((g) => g.vmid === 101)?.snapshotCapable?.capable).toBe(false)
          expect(cts.find((g) => g.vmid === 100)?.snapshotCapable).toEqual({ capable: true })
          expect(cts.find((g) => g.vmid === 102)).toMatchObject({ status: "stopped", onboot: true })
          const vm = guests(first, "vms").find((g) => g.vmid === 200)
          expect(vm?.agent).toEqual({ configured: true, running: true })
          expect(first.drift).toEqual({ mode: "seeded", seededReason: "no-baseline", comparedTo: null })

          expect(second.drift).toMatchObject({ mode: "compared", comparedTo: first.snapshotId })
          expect(second.drift?.mode === "compared" && second.drift.containers).toEqual({ added: [], removed: [], changed: [] })
          const cfg = guests(second, "containers").find((g) => g.vmid === 100)?.config
          expect(cfg).toBeDefined()
          expect(cfg?.["digest"]).toBeUndefined()
          expect(second.redactions).toBeGreaterThan(0)
          expect(JSON.stringify(second)).not.toContain("$2y$10$")

          expect(health.tier).toBe(tier)
          expect(health.errors).toEqual([])
          expect(health.complete).toBe(true)
          expect(health.unavailable.map((u) => u.check)).toEqual(["fs", "failed-units", "updates"])
          expect(health.findings.find((f) => f.check === "onboot-guests")).toMatchObject({ status: "warn" })
          expect(health.findings.find((f) => f.check === "pve-services")).toMatchObject({ status: "ok" })
        }
        const api = sb.control.events().filter((e) => e.kind === "api")
        expect(api.length).toBeGreaterThan(10)
        expect(api.filter((e) => (e.path ?? "").includes("/apt/update"))).toEqual([])
        expect(api.filter((e) => e.method !== "GET").every((e) => (e.path ?? "").endsWith("/agent/ping"))).toBe(true)
      }),
    60_000
  )

  it.scopedLive(
    "a 403 from the bare token is an error naming the privilege, and the tool fails only when nothing was produced",
    () =>
      Effect.gen(function* () {
        const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
        const layer = Layer.mergeAll(
          PveApiLive.layer({ baseUrl: sb.api.baseUrl, tokenId: sb.testTokens.bare.id, tokenSecret: sb.testTokens.bare.secret, fingerprint: sb.api.tls.pin, node: sb.api.node }),
          CensusStoreFs.layerTest(),
          ServerInfo.layer({ tier: "observe", host: "127.0.0.1", version: "test" })
        )
        const health = yield* HealthCheck.run({ sections: ["node"], includePseudoFs: false }).pipe(Effect.provide(layer))
        expect(health.complete).toBe(false)
        expect(health.errors[0]?.error).toContain("Sys.Audit")
        const failed = yield* Effect.flip(DescribeHomelab.run({ sections: ["node"], depth: "summary", saveSnapshot: false, compareToPrevious: false }).pipe(Effect.provide(layer)))
        expect(failed._tag).toBe("ApiForbidden")
      }),
    60_000
  )
})
