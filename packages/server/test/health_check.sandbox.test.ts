/**
 * describe_homelab and health_check at companion against the sandbox: pinned HTTPS plus the pinned SSH
 * NodeShell. The SSH rows (services, tailscale, df, failed units, apt-get -s) run for real; the event
 * stream shows no `apt update` of any kind and `asOf` equals the seeded package-lists mtime (lessons E3).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ServerInfo from "@homelab-mcp/core/capabilities/ServerInfo"
import type { ServiceItem } from "@homelab-mcp/core/census/Document"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import * as CensusStoreFs from "@homelab-mcp/transport/CensusStoreFs"
import * as NodeShellLive from "@homelab-mcp/transport/NodeShell"
import * as PveApiLive from "@homelab-mcp/transport/PveApi"
import * as DescribeHomelab from "../src/tools/describe_homelab.js"
import * as HealthCheck from "../src/tools/health_check.js"

describe("companion tier against the sandbox (HTTPS + SSH)", () => {
  it.scopedLive(
    "services, tailscale in a container (C5), df, failed units and updates as of the lists' mtime (E3)",
    () =>
      Effect.gen(function* () {
        const sb = yield* Sandbox.make({ seed: 1, timeScale: 1, authFailureDelay: 0, tier: "companion" })
        const ssh = sb.ssh!
        const layer = Layer.mergeAll(
          PveApiLive.layer({ baseUrl: sb.api.baseUrl, tokenId: sb.tokens.companion.id, tokenSecret: sb.tokens.companion.secret, fingerprint: sb.api.tls.pin }),
          NodeShellLive.layer({ host: ssh.host, port: ssh.port, user: ssh.user, privateKey: ssh.privateKey, hostKeyFingerprint: ssh.hostKeyFingerprint }),
          CensusStoreFs.layerTest(),
          ServerInfo.layer({ tier: "companion", host: ssh.host, version: "test" })
        )
        const { census, health } = yield* Effect.gen(function* () {
          const census = yield* DescribeHomelab.run({ sections: ["services", "tailscale", "containers"], depth: "summary", saveSnapshot: false, compareToPrevious: false })
          const health = yield* HealthCheck.run({ includePseudoFs: false })
          return { census, health }
        }).pipe(Effect.provide(layer))

        expect(census.errors).toEqual([])
        const services = census.sections.services as ReadonlyArray<ServiceItem>
        expect(Array.isArray(services)).toBe(true)
        const docker = services.find((s) => s.vmid === 101)
        expect(docker?.docker.map((d) => d.name)).toEqual(expect.arrayContaining(["tailscale", "caddy"]))
        expect(services.some((s) => s.vmid === 102)).toBe(false) // stopped
        expect(census.sections.tailscale).toMatchObject({ scope: "container", vmid: 101, container: "tailscale" })
        expect(JSON.stringify(census)).not.toMatch(/tskey-auth-k[0-9a-f]/)

        expect(health.unavailable).toEqual([])
        expect(health.errors).toEqual([])
        const updates = health.findings.find((f) => f.check === "updates")
        expect(updates?.asOf).toBe(new Date(sb.lab.aptListsUpdated * 1000).toISOString())
        expect(health.findings.some((f) => f.check.startsWith("fs:"))).toBe(true)
        expect(health.findings.some((f) => f.check === "failed-units")).toBe(true)

        const events = sb.control.events()
        const commands = events.filter((e) => e.kind === "ssh").map((e) => (e.argv ?? []).join(" ").replace(/'/g, ""))
        expect(commands.some((c) => c.includes("apt-get -s"))).toBe(true)
        expect(commands.filter((c) => /apt(-get)? update/.test(c))).toEqual([])
        expect(events.filter((e) => e.kind === "api" && (e.path ?? "").includes("/apt/"))).toEqual([])
      }),
    60_000
  )
})
