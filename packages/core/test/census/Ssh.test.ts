import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Census from "@homelab-mcp/core/census/Census"
import type { Guest, SectionName } from "@homelab-mcp/core/census/Document"
import { censusDefaults } from "@homelab-mcp/core/census/Settings"
import * as Ssh from "@homelab-mcp/core/census/Ssh"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as F from "./fixtures.js"

const key = (argv: ReadonlyArray<string>) => argv.join(" ")

/** The default lab's node commands at companion: CT 100 (systemd, no docker), CT 101 (docker host with tailscale). */
const shell = (over: Array<[string, { exitCode: number | null; stdout: string; stderr?: string }]> = []): F.FakeShell => ({
  events: [],
  commands: new Map([
    [key(Ssh.containerArgv(100)), { exitCode: 0, stdout: "@@units\nAdGuardHome.service loaded failed failed AdGuard Home\n@@nodocker\n" }],
    [
      key(Ssh.containerArgv(101)),
      { exitCode: 0, stdout: "@@units\n@@docker\ncaddy\tcaddy:2\tUp 3 days\ntailscale\ttailscale/tailscale:latest\tUp 3 days\nportainer\tportainer/portainer-ce\tUp 3 days (healthy)\n" }
    ],
    ["tailscale status --json", { exitCode: 127, stdout: "", stderr: "bash: tailscale: command not found" }],
    ["pct exec 101 -- docker exec tailscale tailscale status --json", { exitCode: 0, stdout: F.tailscaleJson }],
    ...over
  ])
})

const run = (sh: F.FakeShell | null, sections: ReadonlyArray<SectionName>, tier: Tier = "companion", routes = F.defaultRoutes(), depth: "summary" | "status" = "summary") =>
  Census.collect({ sections, depth, tier, host: "pve" }, censusDefaults).pipe(
    Effect.provide(sh === null ? F.layer(F.makeFake(routes)) : Layer.merge(F.layer(F.makeFake(routes)), F.shellLayer(sh)))
  )

describe("SSH parsers", () => {
  it("failed units: first token per line", () => {
    expect(Ssh.parseFailedUnits("b.service loaded failed failed B\n● a.service loaded failed failed A\n\n")).toEqual(["a.service", "b.service"])
    expect(Ssh.parseFailedUnits("")).toEqual([])
  })
  it("docker ps rosters by name; a container without systemd or docker gets a note, not silence", () => {
    expect(Ssh.parseDockerPs("b\timg:b\tUp 1 hour\na\timg:a\tExited (0) 2 days ago\n")).toEqual([
      { name: "a", image: "img:a", status: "Exited (0) 2 days ago" },
      { name: "b", image: "img:b", status: "Up 1 hour" }
    ])
    expect(Ssh.parseContainerOutput(102, "@@nosystemd\n@@nodocker\n")).toEqual({ vmid: 102, failedUnits: [], docker: [], note: "no systemd; no docker" })
  })
  it("tailscale status JSON: DNS name without the trailing dot, else HostName", () => {
    expect(Ssh.parseTailscaleStatus(F.tailscaleJson)).toEqual({
      self: "docker-ts.tail1234.ts.net", online: true, peerCount: 3, tailnetIPs: ["100.64.0.5", "fd7a:115c:a1e0::5"]
    })
    expect(Ssh.parseTailscaleStatus(JSON.stringify({ Self: { HostName: "h", Online: false }, Peer: null }))).toEqual({
      self: "h", online: false, peerCount: 0, tailnetIPs: []
    })
    expect(Ssh.parseTailscaleStatus("not json")).toBeNull()
  })
  it("apt is simulated, never refreshed", () => {
    expect(Ssh.aptSimulateArgv).toEqual(["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"])
    expect(Ssh.containerScript).not.toContain("bash")
  })
})

describe("Census at companion (SSH rows)", () => {
  it.effect("services: one call per running container; tailscale found in a container (C5)", () =>
    Effect.gen(function* () {
      const sh = shell()
      const { doc } = yield* run(sh, ["services", "tailscale"])
      expect(doc.errors).toEqual([])
      expect(doc.sections.services).toEqual([
        { vmid: 100, failedUnits: ["AdGuardHome.service"], docker: [], note: "no docker" },
        {
          vmid: 101,
          failedUnits: [],
          docker: [
            { name: "caddy", image: "caddy:2", status: "Up 3 days" },
            { name: "portainer", image: "portainer/portainer-ce", status: "Up 3 days (healthy)" },
            { name: "tailscale", image: "tailscale/tailscale:latest", status: "Up 3 days" }
          ]
        }
      ])
      expect(doc.sections.tailscale).toEqual({
        scope: "container", vmid: 101, container: "tailscale", self: "docker-ts.tail1234.ts.net", online: true, peerCount: 3,
        tailnetIPs: ["100.64.0.5", "fd7a:115c:a1e0::5"]
      })
      // Rosters are cached for the call: each container is asked once although two sections use them.
      expect(sh.events.filter((e) => e.startsWith("pct exec 101 -- sh"))).toHaveLength(1)
      expect(sh.events.some((e) => e.includes("102"))).toBe(false)
    })
  )

  it.effect("tailscale on the host wins; without any, scope none says where it looked (C5)", () =>
    Effect.gen(function* () {
      const host = yield* run(shell([["tailscale status --json", { exitCode: 0, stdout: F.tailscaleJson }]]), ["tailscale"])
      expect(host.doc.sections.tailscale).toMatchObject({ scope: "host", online: true })
      const none = yield* run(shell([[key(Ssh.containerArgv(101)), { exitCode: 0, stdout: "@@units\n@@docker\ncaddy\tcaddy:2\tUp\n" }]]), ["tailscale"])
      expect(none.doc.sections.tailscale).toEqual({ scope: "none", reason: expect.stringContaining("2 running container") })
    })
  )

  it.effect("agent ping falls back to qm agent over SSH on a 403", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("POST /nodes/pve/qemu/200/agent/ping", () => F.forbidden("/vms/200", "VM.Monitor"))
      const sh = shell([["qm agent 200 ping", { exitCode: 0, stdout: "" }]])
      const { doc } = yield* run(sh, ["vms"], "companion", routes, "status")
      expect((doc.sections.vms as ReadonlyArray<Guest>)[0]?.agent).toEqual({ configured: true, running: true })
      const observe = yield* run(null, ["vms"], "observe", routes, "status")
      expect((observe.doc.sections.vms as ReadonlyArray<Guest>)[0]?.agent?.running).toBeNull()
    })
  )

  it.effect("a failing container probe is an error for that container; the section continues", () =>
    Effect.gen(function* () {
      const sh = shell([[key(Ssh.containerArgv(100)), { exitCode: 255, stdout: "", stderr: "lxc-attach: failed" }]])
      const { doc } = yield* run(sh, ["services"])
      expect(doc.errors).toEqual([{ section: "services", probe: "pct-exec:100", error: "exit 255: lxc-attach: failed" }])
      expect((doc.sections.services as ReadonlyArray<{ vmid: number }>).map((s) => s.vmid)).toEqual([100, 101])
    })
  )

  it.effect("at companion without a NodeShell the SSH sections are errors, not silently empty", () =>
    Effect.gen(function* () {
      const { doc } = yield* run(null, ["services", "storage"])
      expect(doc.sections.services).toBeUndefined()
      expect(doc.errors).toEqual([{ section: "services", probe: "services", error: expect.stringContaining("SSH is not configured") }])
    })
  )
})
