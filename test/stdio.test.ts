/**
 * End to end: the built bin over stdio (MCP SDK client + StdioClientTransport) against a sandbox node
 * started in this process, at observe and at operate.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest"
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { Mcp, Toolkits } from "@homelab-mcp/server"
import { BIN, connect, errorOf, okOf, run, type BinSession } from "./support/Bin.js"
import * as SandboxScope from "./support/SandboxScope.js"

const { observeTools, operateTools } = Toolkits

const OBSERVE_TOOLS = ["describe_homelab", "health_check", "pct_list", "qm_list", "query_audit"]
const OPERATE_TOOLS = [...OBSERVE_TOOLS, "guest_start", "guest_stop", "guest_restart"]

let sandbox: SandboxScope.Started
let observe: BinSession
let operate: BinSession

beforeAll(async () => {
  sandbox = await SandboxScope.start({ tier: "operate" })
  observe = await connect({ ...sandbox.handle.env("observe") })
  operate = await connect({ ...sandbox.handle.env("operate") })
})

afterAll(async () => {
  await observe?.close()
  await operate?.close()
  await sandbox?.close()
})

describe("tool registry per tier (exact snapshots)", () => {
  it("observe registers exactly the observe tools; operate adds the power tools", async () => {
    expect((await observe.client.listTools()).tools.map((t) => t.name)).toEqual(OBSERVE_TOOLS)
    expect((await operate.client.listTools()).tools.map((t) => t.name)).toEqual(OPERATE_TOOLS)
  })

  it("every tool publishes a strict input schema, an output schema, a title and the four annotations", async () => {
    for (const tool of (await operate.client.listTools()).tools) {
      expect(tool.inputSchema.type, tool.name).toBe("object")
      expect(tool.inputSchema["additionalProperties"], tool.name).toBe(false)
      expect(tool.outputSchema?.type, tool.name).toBe("object")
      expect(tool.title, tool.name).toBeTruthy()
      expect(Object.keys(tool.annotations ?? {}).sort(), tool.name).toEqual(
        ["destructiveHint", "idempotentHint", "openWorldHint", "readOnlyHint", "title"]
      )
    }
  })

  it("the startup banner names version, sha, tier, node and host on stderr", async () => {
    // the banner follows the handshake, once the tier's layer is built
    for (let i = 0; i < 100 && !(observe.stderr().includes("| tier:") && operate.stderr().includes("| tier:")); i++) {
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(observe.stderr()).toMatch(/^homelab-mcp \d+\.\d+\.\d+ \([0-9a-f]+|unknown\) \| tier: observe \| node: pve \| host: 127\.0\.0\.1$/m)
    expect(operate.stderr()).toMatch(/\| tier: operate \| node: pve \|/)
  })
})

describe("observe happy paths", () => {
  it("pct_list and qm_list list the lab's guests by vmid", async () => {
    const pct = okOf<{ count: number; containers: Array<{ vmid: number; name: string; status: string }> }>(await observe.call("pct_list"))
    expect(pct.count).toBe(pct.containers.length)
    expect(pct.containers.find((c) => c.vmid === 100)).toMatchObject({ name: "dns", status: "running" })
    expect(pct.containers.map((c) => c.vmid)).toEqual([...pct.containers.map((c) => c.vmid)].sort((a, b) => a - b))
    const qm = okOf<{ vms: Array<{ vmid: number; name: string; bootDiskGB: number; memMB: number; pid?: number; status: string }> }>(
      await observe.call("qm_list")
    )
    const vm = qm.vms.find((v) => v.vmid === 200)!
    expect(vm).toMatchObject({ name: "debian-vm", status: "running", bootDiskGB: 32 })
    expect(typeof vm.pid).toBe("number")
    for (const v of qm.vms.filter((x) => x.status !== "running")) expect(v.pid).toBeUndefined()
  })

  it("describe_homelab and health_check answer with their documents", async () => {
    const census = okOf<{ node: unknown; errors: Array<unknown> }>(await observe.call("describe_homelab", { sections: ["node", "containers", "vms"] }))
    expect(census.node).toBeTruthy()
    const health = okOf<{ status: string; tier: string }>(await observe.call("health_check"))
    expect(["ok", "warn", "crit"]).toContain(health.status)
    expect(health.tier).toBe("observe")
  })

  it("query_audit answers from the local log", async () => {
    const q = okOf<{ summary: { total: number }; items: Array<unknown>; nextOffset: number | null }>(await observe.call("query_audit", { verifyChain: true }))
    expect(q.items).toEqual([])
    expect(q.nextOffset).toBeNull()
  })

  it("an empty section list is rejected (G3)", async () => {
    expect(errorOf(await observe.call("describe_homelab", { sections: [] })).code).toBe("InvalidInput")
  })
})

describe("operate happy paths and the confirm gate", () => {
  it("guest_start starts a stopped container and a second start is a no-op without POST", async () => {
    const first = sandbox.handle.control.events().length
    const started = okOf(await operate.call("guest_start", { vmid: 102 }))
    const startPosts = sandbox.handle.control.events().slice(first).filter((e) => e.kind === "api" && e.method === "POST")
    expect(startPosts.map((e) => e.path)).toEqual(["/api2/json/nodes/pve/lxc/102/status/start"])
    expect(started).toMatchObject({ vmid: 102, guestType: "lxc", taskStatus: "OK", status: "running", alreadyRunning: false })
    expect(String(started["upid"])).toMatch(/^UPID:pve:/)
    const before = sandbox.handle.control.events().length
    const again = okOf(await operate.call("guest_start", { vmid: 102 }))
    expect(again).toMatchObject({ alreadyRunning: true, upid: null, taskStatus: null })
    const calls = sandbox.handle.control.events().slice(before).filter((e) => e.kind === "api")
    expect(calls.length).toBeGreaterThan(0)
    expect(calls.filter((e) => e.method === "POST")).toEqual([])
  })

  it("guest_stop is refused without confirm (blast radius, nothing sent), then runs with confirm:true", async () => {
    const before = sandbox.handle.control.events().length
    const refused = errorOf(await operate.call("guest_stop", { vmid: 102 }))
    expect(refused.code).toBe("ConfirmationRequired")
    expect(refused.message).toContain("immediate power-off")
    expect(refused.message).toContain("Re-issue with confirm:true if the user agrees")
    expect(sandbox.handle.control.events().slice(before).filter((e) => e.kind === "api")).toEqual([])
    const stopped = okOf(await operate.call("guest_stop", { vmid: 102, confirm: true }))
    expect(stopped).toMatchObject({ vmid: 102, status: "stopped", mode: "hard", alreadyStopped: false, taskStatus: "OK" })
  })

  it("guest_restart reboots a running VM and refuses a stopped guest", async () => {
    const r = okOf(await operate.call("guest_restart", { vmid: 200 }))
    expect(r).toMatchObject({ vmid: 200, guestType: "qemu", taskStatus: "OK", status: "running" })
    const refused = errorOf(await operate.call("guest_restart", { vmid: 102 }))
    expect(refused.code).toBe("GuestNotRunning")
  })

  it("query_audit shows the trail: start ok, the refusal, the confirmed stop", async () => {
    const q = okOf<{ items: Array<{ tool: string; outcome: string; vmid?: number; confirmVia?: string }> }>(
      await operate.call("query_audit", { vmid: 102 })
    )
    const trail = q.items.map((i) => `${i.tool}:${i.outcome}`).reverse()
    expect(trail).toEqual(["guest_start:ok", "guest_start:noop", "guest_stop:refused", "guest_stop:ok", "guest_restart:refused"])
    expect(q.items.find((i) => i.tool === "guest_stop" && i.outcome === "ok")?.confirmVia).toBe("flag")
  })

  it("every guest tool answers an unknown vmid with one wording (G1)", async () => {
    for (const [name, args] of [
      ["guest_start", {}],
      ["guest_restart", {}],
      ["guest_stop", { confirm: true }]
    ] as const) {
      const e = errorOf(await operate.call(name, { vmid: 999, ...args }))
      expect(e).toMatchObject({ code: "GuestNotFound", message: "Guest 999 not found on node pve." })
    }
  })
})

describe("the confirm gate uses elicitation when the client declares it", () => {
  it("accept runs the stop (confirm flag not needed); decline refuses even with confirm:true", async () => {
    const prompts: Array<string> = []
    const yes = await connect({ ...sandbox.handle.env("operate") }, ["serve"], {
      elicit: (message) => {
        prompts.push(message)
        return { action: "accept", content: { confirm: true } }
      }
    })
    const no = await connect({ ...sandbox.handle.env("operate") }, ["serve"], { elicit: () => ({ action: "decline" }) })
    try {
      okOf(await yes.call("guest_start", { vmid: 9001 }))
      const stopped = okOf(await yes.call("guest_stop", { vmid: 9001, graceful: true, shutdownTimeoutSecs: 30 }))
      expect(stopped).toMatchObject({ vmid: 9001, status: "stopped", mode: "graceful" })
      expect(prompts).toHaveLength(1)
      expect(prompts[0]).toContain("Shut down guest 9001 gracefully (up to 30 s)")
      const audit = okOf<{ items: Array<{ tool: string; outcome: string; confirmVia?: string }> }>(await yes.call("query_audit", { tool: "guest_stop" }))
      expect(audit.items[0]).toMatchObject({ outcome: "ok", confirmVia: "elicitation" })
      const declined = errorOf(await no.call("guest_stop", { vmid: 100, confirm: true }))
      expect(declined).toMatchObject({ code: "ConfirmationRequired", details: { declined: true } })
      expect(declined.hint).toContain("do not retry")
    } finally {
      await yes.close()
      await no.close()
    }
  })

  it("MCP_CONFIRM_ELICIT=false falls back to the flag even when the client declares elicitation", async () => {
    const s = await connect({ ...sandbox.handle.env("operate"), MCP_CONFIRM_ELICIT: "false" }, ["serve"], {
      elicit: () => ({ action: "accept", content: { confirm: true } })
    })
    try {
      expect(errorOf(await s.call("guest_stop", { vmid: 9001 })).message).toContain("Re-issue with confirm:true")
    } finally {
      await s.close()
    }
  })
})

describe("failures reach the model as typed errors", () => {
  it("a task that fails is reported as TaskFailed with its exit status", async () => {
    sandbox.handle.control.addFault({
      id: "e2e-start-fails",
      target: { kind: "task", type: "vzstart" },
      when: { _tag: "once" },
      effect: { _tag: "taskFail", exitstatus: "startup for container '9001' failed" }
    })
    try {
      const e = errorOf(await operate.call("guest_start", { vmid: 9001 }))
      expect(e.code).toBe("TaskFailed")
      expect(e.message).toContain("startup for container '9001' failed")
      expect(e.details?.["upid"]).toMatch(/^UPID:pve:/)
      const q = okOf<{ items: Array<{ outcome: string; error?: { code: string } }> }>(await operate.call("query_audit", { vmid: 9001 }))
      expect(q.items[0]).toMatchObject({ outcome: "failed", error: { code: "TaskFailed" } })
    } finally {
      sandbox.handle.control.removeFault("e2e-start-fails")
    }
  })

  it("bad arguments are InvalidInput naming the key and the expected type; nothing is sent", async () => {
    const typed = errorOf(await operate.call("guest_start", { vmid: "abc" }))
    expect(typed.code).toBe("InvalidInput")
    expect(typed.message).toBe('Parameter "vmid" must be an integer between 100 and 999999999, got "abc".')
    const range = errorOf(await operate.call("guest_start", { vmid: 5 }))
    expect(range.message).toContain('"vmid"')
    const alias = errorOf(await operate.call("guest_stop", { vmid: 100, confirm: true, force: true }))
    expect(alias).toMatchObject({ code: "InvalidInput", details: { key: "force", accepted: ["vmid", "confirm", "graceful", "shutdownTimeoutSecs"] } })
  })

  it("contract: every registered tool rejects one extra key with InvalidInput naming it (A5)", async () => {
    for (const tool of (await operate.client.listTools()).tools) {
      const e = errorOf(await operate.call(tool.name, { notAParameter: true }))
      expect(e.code, tool.name).toBe("InvalidInput")
      expect(e.message, tool.name).toContain('"notAParameter"')
    }
  })

  it("a message over the stdio cap is answered with an error naming its size, and the session goes on", async () => {
    const s = await connect({ ...sandbox.handle.env("observe"), MCP_WRITE_MAX_BYTES: "1024" })
    try {
      const pad = "x".repeat(17 * 1024 * 1024)
      const refused = await s.client
        .request({ method: "tools/call", params: { name: "pct_list", arguments: { pad } } }, CallToolResultSchema)
        .then(() => "answered", (e: Error) => e.message)
      expect(refused).toMatch(/A message of 1\d{7} bytes exceeds this server's 16777216-byte limit/)
      const list = await s.call("pct_list")
      expect(list.isError).not.toBe(true)
      expect(s.stderr()).toMatch(/exceeds this server's 16777216-byte limit/)
    } finally {
      await s.close()
    }
  })

  it("no stack traces or raw Proxmox texts in any error", async () => {
    const e = errorOf(await operate.call("guest_start", { vmid: 999 }))
    expect(JSON.stringify(e)).not.toMatch(/\bat .*\.js:\d+|Configuration file|does not exist/)
  })
})

describe("Proxmox enforces the tier; the pin is enforced", () => {
  it("a server at operate with the observe token gets the 403 on guest_start as ApiForbidden naming VM.PowerMgmt", async () => {
    const s = await connect({ ...sandbox.handle.env("observe"), MCP_TIER: "operate" })
    try {
      expect((await s.client.listTools()).tools.map((t) => t.name)).toEqual(OPERATE_TOOLS)
      const e = errorOf(await s.call("guest_start", { vmid: 9001 }))
      expect(e.code).toBe("ApiForbidden")
      expect(e.message).toContain("VM.PowerMgmt")
      expect(e.hint).toContain("setup --tier")
    } finally {
      await s.close()
    }
  })

  it("a wrong TLS pin is refused before any request: the first call is TlsPinMismatch", async () => {
    const s = await connect({ ...sandbox.handle.env("observe"), PVE_API_TLS_FINGERPRINT: sandbox.handle.api.impostor.sha256Colon })
    try {
      const e = errorOf(await s.call("pct_list"))
      expect(e.code).toBe("TlsPinMismatch")
      expect(e.message).toContain("Nothing was sent")
      expect(e.retryable).toBe(false)
    } finally {
      await s.close()
    }
  })

  it("without PVE_API_NODE the wrong pin stops startup with one stderr line", async () => {
    const { PVE_API_NODE: _node, ...env } = sandbox.handle.env("observe")
    const r = await run(["serve"], { ...env, PVE_API_TLS_FINGERPRINT: sandbox.handle.api.impostor.sha256Colon })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("does not match the pin")
  })

  it("tier resolution: MCP_TIER=root and the root flag below companion stop startup naming the variable", async () => {
    const env = sandbox.handle.env("observe")
    const root = await run(["serve"], { ...env, MCP_TIER: "root" })
    expect(root.code).toBe(1)
    expect(root.stderr).toContain("MCP_TIER")
    expect(root.stderr).toContain("root is enabled only with MCP_HOST_ROOT_ENABLED")
    const flag = await run(["serve"], { ...env, MCP_TIER: "operate", MCP_HOST_ROOT_ENABLED: "I-understand-Claude-gets-root-and-can-break-this-node" })
    expect(flag.code).toBe(1)
    expect(flag.stderr).toMatch(/^homelab-mcp: invalid configuration: MCP_HOST_ROOT_ENABLED: /)
  })

  it("a malformed number or boolean stops startup with one line naming the variable, the form and the value", async () => {
    const env = sandbox.handle.env("observe")
    const port = await run(["serve"], { ...env, PVE_API_TIMEOUT_MS: "15s" })
    expect(port.code).toBe(1)
    expect(port.stdout).toBe("")
    expect(port.stderr.trim()).toBe('homelab-mcp: invalid configuration: PVE_API_TIMEOUT_MS: expected an integer 100..600000, got "15s"')
    const tofu = await run(["serve"], { ...env, PVE_API_TLS_TOFU: "sure" })
    expect(tofu.code).toBe(1)
    expect(tofu.stderr.trim()).toBe('homelab-mcp: invalid configuration: PVE_API_TLS_TOFU: expected true or false, got "sure"')
  })
})

describe("progress notifications", () => {
  it("a power action waiting for its task reports progress to a client that sent a progress token", async () => {
    const slow = await SandboxScope.start({ tier: "operate", timeScale: 0.3 })
    const s = await connect({ ...slow.handle.env("operate"), PVE_TASK_POLL_INTERVAL_MS: "100" })
    try {
      const notes: Array<{ progress: number; message?: string | undefined }> = []
      const result = await s.client.callTool({ name: "guest_start", arguments: { vmid: 102 } }, undefined, {
        onprogress: (p) => notes.push(p)
      })
      expect(okOf(result as Parameters<typeof okOf>[0])).toMatchObject({ vmid: 102, status: "running" })
      expect(notes.length).toBeGreaterThan(0)
      expect(notes[0]!.message).toMatch(/^starting 102: task running for \d+ s$/)
    } finally {
      await s.close()
      await slow.close()
    }
  })
})

describe("the bin's tools/list is the toolkit's, and signals release everything", () => {
  it("tools/list of the bundled bin equals the descriptors derived from the sources' toolkits", async () => {
    const listed = (await operate.client.listTools()).tools
    expect(listed).toEqual(Mcp.descriptors(operateTools))
    expect((await observe.client.listTools()).tools).toEqual(Mcp.descriptors(observeTools))
  })

  it.each(["SIGTERM", "SIGINT"] as const)("%s after a call stops the server promptly with exit code 0", async (signal) => {
    const dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-sig-"))
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }))
    const child = spawn(process.execPath, [BIN, "serve"], {
      env: { PATH: process.env["PATH"] ?? "", MCP_DATA_DIR: dataDir, ...sandbox.handle.env("operate") },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    const send = (m: unknown) => child.stdin.write(JSON.stringify(m) + "\n")
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "sig", version: "1" } } })
    send({ jsonrpc: "2.0", method: "notifications/initialized" })
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "pct_list", arguments: {} } })
    await new Promise<void>((resolve) => {
      let out = ""
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString("utf8")
        if (out.includes('"id":2')) resolve()
      })
    })
    const t0 = Date.now()
    child.kill(signal)
    expect(await exited).toBe(0)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(stderr).toContain("| tier: operate |")
  })
})

describe("CLI", () => {
  it("--version, --help and tools --tier print to stdout and exit 0", async () => {
    const v = await run(["--version"], {})
    expect(v.code).toBe(0)
    expect(v.stdout).toMatch(/^homelab-mcp \d+\.\d+\.\d+ \(.+\)\n$/)
    const h = await run(["--help"], {})
    expect(h.stdout).toContain("serve --sandbox")
    const t = await run(["tools", "--tier", "operate", "--json"], {})
    expect(JSON.parse(t.stdout).tools.map((x: { name: string }) => x.name)).toEqual(OPERATE_TOOLS)
    expect(BIN.endsWith("dist/main.js")).toBe(true)
  })

  it("an unknown flag exits 2 with usage on stderr", async () => {
    const r = await run(["--frobnicate"], {})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("homelab-mcp --help")
  })
})
