/**
 * Fault and latency injection (sandbox.md §7) over real HTTPS sockets, plus the rule store's
 * seeded, reproducible decisions.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { gunzipSync } from "node:zlib"
import * as https from "node:https"
import { FaultStore, type FaultRule } from "../src/faults/Faults.js"
import * as Sandbox from "../src/Sandbox.js"
import { request } from "./support/https.js"

const start = (options: Sandbox.SandboxOptions = {}) => Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false, ...options })
const tok = (t: Sandbox.SandboxToken) => ({ id: t.id, secret: Redacted.value(t.secret) })
const get = (sb: Sandbox.SandboxHandle, path: string, extra: { timeoutMs?: number; headers?: Record<string, string> } = {}) =>
  Effect.promise(() => request(sb.api.baseUrl, "GET", path, { token: tok(sb.tokens.operate), ...extra }).then((r) => ({ ok: true as const, r }), (e: Error) => ({ ok: false as const, error: e.message })))
const post = (sb: Sandbox.SandboxHandle, path: string, body: Record<string, string> = {}) =>
  Effect.promise(() => request(sb.api.baseUrl, "POST", path, { token: tok(sb.tokens.operate), body }))

const rule = (id: string, target: FaultRule["target"], effect: FaultRule["effect"], when: FaultRule["when"] = { _tag: "always" }): FaultRule => ({ id, target, when, effect })

describe("API faults over HTTPS", () => {
  it.scopedLive("latency per endpoint pattern (the benchmark's 20 ms on every request)", () =>
    Effect.gen(function* () {
      const sb = yield* start({ faults: [rule("slow-version", { kind: "api", path: "/version" }, { _tag: "latency", latency: { fixed: 120 } })] })
      const t0 = Date.now()
      const slow = yield* get(sb, "/version")
      const slowMs = Date.now() - t0
      const t1 = Date.now()
      yield* get(sb, "/nodes")
      const fastMs = Date.now() - t1
      expect(slow.ok && slow.r.status).toBe(200)
      expect(slowMs).toBeGreaterThanOrEqual(115)
      expect(fastMs).toBeLessThan(slowMs)
      sb.control.addFault(rule("bench", { kind: "api" }, { _tag: "latency", latency: { fixed: 20 } }))
      const t2 = Date.now()
      yield* get(sb, "/nodes/pve/status")
      expect(Date.now() - t2).toBeGreaterThanOrEqual(19)
      const m = sb.control.metrics()
      expect(m.api.injectedRequests).toBe(2)
      expect(m.api.injectedLatencyMs).toBe(140)
      expect(m.api.requests).toBe(3)
    })
  )

  it.scopedLive("5xx with the PVE envelope, and raw 502/503/504 status lines", () =>
    Effect.gen(function* () {
      const sb = yield* start({
        faults: [
          rule("e500", { kind: "api", method: "GET", path: "/nodes" }, { _tag: "status", code: 500, message: "got timeout" }, { _tag: "once" }),
          rule("raw", { kind: "api", path: "/cluster/**" }, { _tag: "status", code: 502, raw: true })
        ]
      })
      const a = yield* get(sb, "/nodes")
      expect(a.ok && [a.r.status, a.r.reason, a.r.body, a.r.headers["connection"]]).toEqual([500, "got timeout", `{"data":null,"message":"got timeout\\n"}`, "close"])
      const b = yield* get(sb, "/nodes")
      expect(b.ok && b.r.status).toBe(200)
      const c = yield* get(sb, "/cluster/resources")
      expect(c.ok && [c.r.status, c.r.reason, c.r.body]).toEqual([502, "Bad Gateway", ""])
      expect(sb.control.events().filter((e) => e.kind === "fault").map((e) => e.decision)).toEqual(["e500", "raw"])
    })
  )

  it.scopedLive("hang: no answer until the client gives up", () =>
    Effect.gen(function* () {
      const sb = yield* start({ faults: [rule("hang", { kind: "api", path: "/nodes/pve/status" }, { _tag: "hang" })] })
      const r = yield* get(sb, "/nodes/pve/status", { timeoutMs: 300 })
      expect(r).toEqual({ ok: false, error: "timeout" })
      const ok = yield* get(sb, "/version")
      expect(ok.ok).toBe(true)
    })
  )

  it.scopedLive("drop at connect, at headers and mid-body", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      sb.control.addFault(rule("conn", { kind: "tls" }, { _tag: "drop", phase: "connect" }, { _tag: "once" }))
      const a = yield* get(sb, "/version")
      expect(a.ok).toBe(false)
      sb.control.addFault(rule("hdr", { kind: "api", path: "/version" }, { _tag: "drop", phase: "headers" }, { _tag: "once" }))
      const b = yield* get(sb, "/version")
      expect(b).toMatchObject({ ok: false, error: expect.stringMatching(/socket hang up|ECONNRESET/) })
      sb.control.addFault(rule("body", { kind: "api", path: "/cluster/resources" }, { _tag: "drop", phase: "body", afterBytes: 100 }, { _tag: "once" }))
      const c = yield* get(sb, "/cluster/resources")
      if (c.ok) expect(c.r.body.length).toBeLessThan(Number(c.r.headers["content-length"]))
      else expect(c.error).toMatch(/aborted|ECONNRESET|socket hang up/)
      const d = yield* get(sb, "/cluster/resources")
      expect(d.ok && JSON.parse(d.r.body).data.length).toBeGreaterThan(5)
    })
  )

  it.scopedLive("drop during the TLS handshake, and the degraded-storage preset", () =>
    Effect.gen(function* () {
      const sb = yield* start({ faults: ["degraded-storage"] })
      sb.control.addFault(rule("tls", { kind: "tls" }, { _tag: "drop", phase: "tls" }, { _tag: "once" }))
      const a = yield* get(sb, "/version")
      expect(a.ok).toBe(false)
      const zfs = yield* get(sb, "/nodes/pve/disks/zfs")
      expect(zfs.ok && JSON.parse(zfs.r.body).data[0]).toMatchObject({ name: "tank", health: "DEGRADED" })
      const tank = yield* get(sb, "/nodes/pve/storage/tank/status")
      const data = tank.ok ? JSON.parse(tank.r.body).data : {}
      expect(data.avail).toBe(0)
      expect(sb.control.metrics().faults.find((f) => f.id === "tls")).toEqual({ id: "tls", matched: 3, fired: 1 })
    })
  )

  it.scopedLive("taskFail: the task fails asynchronously and is visible in list, status and log", () =>
    Effect.gen(function* () {
      const sb = yield* start({ faults: [rule("fail-start", { kind: "task", type: "vzstart", id: "9001" }, { _tag: "taskFail", exitstatus: "startup for container '9001' failed" })] })
      const res = yield* post(sb, "/nodes/pve/lxc/9001/status/start")
      const upid = JSON.parse(res.body).data as string
      yield* sb.lab.awaitTask(upid)
      const st = yield* get(sb, `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`)
      expect(st.ok && JSON.parse(st.r.body).data).toMatchObject({ status: "stopped", exitstatus: "startup for container '9001' failed" })
      const log = yield* get(sb, `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`)
      expect(log.ok && JSON.parse(log.r.body).data.at(-1).t).toBe("TASK ERROR: startup for container '9001' failed")
      const list = yield* get(sb, "/nodes/pve/tasks?errors=1")
      expect(list.ok && JSON.parse(list.r.body).data.map((t: { upid: string }) => t.upid)).toContain(upid)
      expect(sb.lab.getGuest(9001)?.status).toBe("stopped")
    })
  )

  it.scopedLive("storageFull: usage reads full and allocations on the store fail", () =>
    Effect.gen(function* () {
      const sb = yield* start({ faults: [rule("full", { kind: "store", storage: "backups" }, { _tag: "storageFull" })] })
      const st = yield* get(sb, "/nodes/pve/storage/backups/status")
      const data = st.ok ? JSON.parse(st.r.body).data : {}
      expect(data.used).toBe(data.total)
      expect(data.avail).toBe(0)
      const task = sb.lab.backupGuest(100, "backups")
      const upid = task._tag === "Right" ? task.right.upid : ""
      yield* sb.lab.awaitTask(upid)
      expect(sb.lab.getTask(upid)?.exitstatus).toBe("No space left on device")
      sb.control.removeFault("full")
      expect((yield* get(sb, "/nodes/pve/storage/backups/status")).ok).toBe(true)
    })
  )

  it.scopedLive("impostor certificate on one connection, then certificate rotation", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const real = sb.api.tls.sha256Colon
      expect(sb.api.impostor.sha256Colon).not.toBe(real)
      sb.control.addFault(rule("mitm", { kind: "tls" }, { _tag: "certificate" }, { _tag: "once" }))
      const a = yield* get(sb, "/version")
      expect(a.ok && a.r.fingerprint256).toBe(sb.api.impostor.sha256Colon)
      const b = yield* get(sb, "/version")
      expect(b.ok && b.r.fingerprint256).toBe(real)
      const next = yield* sb.control.rotateCertificate()
      expect(next.sha256Colon).not.toBe(real)
      const c = yield* get(sb, "/nodes")
      expect(c.ok && c.r.fingerprint256).toBe(next.sha256Colon)
      expect(c.ok && JSON.parse(c.r.body).data[0].ssl_fingerprint).toBe(next.sha256Colon)
      expect(sb.api.tls.pin).toBe(next.pin)
      expect(sb.env("observe")["PVE_API_TLS_FINGERPRINT"]).toBe(next.pin)
    })
  )

  it.scopedLive("agentDown and authFail", () =>
    Effect.gen(function* () {
      const sb = yield* start({ faults: [rule("agent", { kind: "agent", vmid: 200 }, { _tag: "agentDown" }, { _tag: "once" })] })
      const down = yield* post(sb, "/nodes/pve/qemu/200/agent/ping")
      expect([down.status, down.reason]).toEqual([500, "QEMU guest agent is not running"])
      expect((yield* post(sb, "/nodes/pve/qemu/200/agent/ping")).status).toBe(200)
      sb.control.addFault(rule("deny", { kind: "api", path: "/version" }, { _tag: "authFail" }, { _tag: "once" }))
      const denied = yield* get(sb, "/version")
      expect(denied.ok && [denied.r.status, denied.r.body]).toEqual([401, ""])
    })
  )

  it.scopedLive("responses over 1 KiB are gzipped when the client accepts it; keep-alive on success", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const r = yield* Effect.promise(
        () =>
          new Promise<{ enc: string | undefined; body: Buffer; conn: string | undefined }>((resolve, reject) => {
            const url = new URL(`${sb.api.baseUrl}/cluster/resources`)
            const req = https.request(
              { host: url.hostname, port: url.port, path: url.pathname, rejectUnauthorized: false, agent: false, headers: { Authorization: `PVEAPIToken=${sb.tokens.operate.id}=${Redacted.value(sb.tokens.operate.secret)}`, "Accept-Encoding": "gzip" } },
              (res) => {
                const chunks: Array<Buffer> = []
                res.on("data", (c: Buffer) => chunks.push(c))
                res.on("end", () => resolve({ enc: res.headers["content-encoding"], body: Buffer.concat(chunks), conn: res.headers["connection"] }))
              }
            )
            req.on("error", reject)
            req.end()
          })
      )
      expect(r.enc).toBe("gzip")
      expect(JSON.parse(gunzipSync(r.body).toString("utf8")).data.length).toBeGreaterThan(5)
      expect(r.conn?.toLowerCase()).toBe("keep-alive")
    })
  )
})

describe("rule store", () => {
  it("when: once, nth, every, afterCalls, window, probability", () => {
    let t = 0
    const store = new FaultStore(1, () => t)
    const eff = { _tag: "hang" } as const
    store.add(rule("once", { kind: "api" }, eff, { _tag: "once" }))
    store.add(rule("nth", { kind: "api" }, eff, { _tag: "nth", n: 3 }))
    store.add(rule("every", { kind: "api" }, eff, { _tag: "every", n: 2 }))
    store.add(rule("after", { kind: "api" }, eff, { _tag: "afterCalls", n: 4 }))
    store.add(rule("window", { kind: "api" }, eff, { _tag: "window", from: 10, to: 20 }))
    const fired: Array<Array<string>> = []
    for (let i = 0; i < 6; i++) {
      t = i * 5
      fired.push(store.match({ kind: "api", method: "GET", path: "/version" }).map((h) => h.rule.id))
    }
    expect(fired).toEqual([["once"], ["every"], ["nth", "window"], ["every", "window"], ["after"], ["every", "after"]])
    expect(store.match({ kind: "ssh", argv: ["ls"] })).toEqual([])
  })

  it("same seed, rules and event order give the same decisions; other rules do not shift a stream", () => {
    const decisions = (seed: number, extra: boolean) => {
      const store = new FaultStore(seed, () => 0)
      if (extra) store.add(rule("other", { kind: "api" }, { _tag: "hang" }, { _tag: "probability", p: 0.5 }))
      store.add(rule("flaky", { kind: "api" }, { _tag: "status", code: 500 }, { _tag: "probability", p: 0.3 }))
      store.add(rule("lat", { kind: "api" }, { _tag: "latency", latency: { logNormal: { p50: 10, p99: 100 } } }))
      return Array.from({ length: 200 }, () => store.match({ kind: "api", method: "GET", path: "/x" }).filter((h) => h.rule.id !== "other").map((h) => `${h.rule.id}:${h.latencyMs?.toFixed(3) ?? ""}`).join(","))
    }
    expect(decisions(5, false)).toEqual(decisions(5, false))
    expect(decisions(5, true)).toEqual(decisions(5, false))
    expect(decisions(6, false)).not.toEqual(decisions(5, false))
    const rate = decisions(5, false).filter((d) => d.includes("flaky")).length / 200
    expect(rate).toBeGreaterThan(0.2)
    expect(rate).toBeLessThan(0.4)
  })

  it("matches ssh argv, task types and method/path patterns", () => {
    const store = new FaultStore(1, () => 0)
    store.add(rule("pct", { kind: "ssh", argv: "^pct (start|stop) " }, { _tag: "exit", code: 255, stderr: "boom\n" }))
    store.add(rule("snap", { kind: "task", type: "(vz|qm)snapshot" }, { _tag: "taskFail", exitstatus: "x" }))
    store.add(rule("post", { kind: "api", method: "POST", path: "/nodes/{node}/qemu/{vmid}/status/*" }, { _tag: "hang" }))
    expect(store.match({ kind: "ssh", argv: ["pct", "start", "100"] }).map((h) => h.rule.id)).toEqual(["pct"])
    expect(store.match({ kind: "ssh", argv: "pct list" })).toEqual([])
    expect(store.match({ kind: "task", type: "qmsnapshot", id: "200" }).map((h) => h.rule.id)).toEqual(["snap"])
    expect(store.match({ kind: "task", type: "qmstart", id: "200" })).toEqual([])
    expect(store.match({ kind: "api", method: "POST", path: "/nodes/pve/qemu/200/status/start" }).map((h) => h.rule.id)).toEqual(["post"])
    expect(store.match({ kind: "api", method: "GET", path: "/nodes/pve/qemu/200/status/current" })).toEqual([])
  })
})
